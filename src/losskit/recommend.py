"""Which loss for this target? ``recommend(y)`` reads the target and says, with its numbers.

It infers the task from the values alone -- regression, binary, multi-class (integer or string
labels, or one-hot rows) or multi-label -- measures what decides the loss, and returns a
:class:`Recommendation`: a canonical losskit name, the output activation, the hyper-parameters to
start from, the reasons, and a runner-up. ``load_target(path, column)`` reads a target from a
``.csv``/``.tsv``, ``.npy``, ``.npz`` or ``.parquet`` file; ``losskit recommend DATA --target COLUMN``
does both and prints ``str(recommendation)``.

What is measured, and the thresholds that decide (module constants, each justified where defined):

* regression: the share of outliers by the robust z-score :math:`|y - \\mathrm{med}| / (1.4826\\,
  \\mathrm{MAD}) > 3.5` (Iglewicz & Hoaglin). Above 1 % -> ``huber`` with
  ``delta = 1.345 * 1.4826 * MAD``; else ``mse``. Skewness above 1 adds advice (fit ``log y``).
* binary and multi-class: the imbalance ratio, majority count / minority count. Up to 3 -> plain
  cross-entropy; 3 to 10 -> cross-entropy re-weighted by inverse class frequency (``pos_weight``,
  ``class_weight``); above 10 -> focal loss (``gamma=2``, ``alpha`` by inverse frequency).
* the label encoding: integer labels -> the sparse cross-entropy, one-hot rows -> the categorical
  one, 0/1 columns that are not one-hot (multi-label) -> binary cross-entropy per label.

These are starting points read off the targets alone: the features, the model and the metric you
care about can overrule them. Only NumPy is needed; ``.parquet`` files need pandas and pyarrow.

Example:
  >>> import numpy as np
  >>> from losskit.recommend import recommend
  >>> r = recommend(np.array([0, 1, 1, 0, 1, 1, 0, 1]))
  >>> r.task, r.loss, r.activation
  ('binary', 'binary_cross_entropy', 'sigmoid')
  >>> r.kwargs()
  {'from_logits': True}
"""

from __future__ import annotations

import csv
import difflib
import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

__all__ = ["MissingDependencyError", "Recommendation", "RunnerUp", "Setting", "load_target", "recommend"]

Floats = NDArray[np.float64]
Value: TypeAlias = "float | int | bool | str | tuple[float, ...] | None"
"""A hyper-parameter's value; a tuple is a per-class (or per-label) vector."""
Label: TypeAlias = "int | float | str"

# --------------------------------------------------------------------------------------------------
# Thresholds and constants.

MAD_TO_SD = 1.4826
"""1 / Phi^-1(3/4): the MAD of normal data is 0.6745 sigma, so 1.4826 * MAD estimates sigma."""
MEANAD_TO_SD = 1.2533
"""sqrt(pi / 2): the scale from the mean absolute deviation when the MAD is 0 (over half the values tie)."""
OUTLIER_Z = 3.5
"""Iglewicz & Hoaglin (1993): a robust ("modified") z-score above 3.5 flags a potential outlier."""
OUTLIER_SHARE = 0.01
"""Above this share of outliers, huber. Normal data has 0.047 % beyond 3.5 robust sd; 1 % is 20 times
that, so it is heavy tails or corrupted targets, not chance, and a few of them already dominate MSE."""
HUBER_K = 1.345
"""Huber's constant, in sd of the noise: 95 % asymptotic efficiency of the mean under normal noise."""
SKEWED = 1.0
"""|skewness| above 1: "highly skewed" (Bulmer, Principles of Statistics, 1979)."""
MILD_IMBALANCE = 3.0
"""Up to 3:1 (minority >= 25 %) the plain cross-entropy learns the minority well; re-weighting would
mainly cost calibrated probabilities."""
SEVERE_IMBALANCE = 10.0
"""Above 10:1 (minority < 9 %) the many easy majority examples dominate the summed loss even once
learnt: the focal loss's (1 - p_t)^gamma takes them out (Lin et al. 2017, built for 1:1000)."""
FOCAL_GAMMA = 2.0
"""Lin et al. 2017: gamma = 2 worked best (their Table 1a), and is every library's default."""
FEW_CLASSES = 20
"""Integer targets with at most 20 distinct values are class labels; so are more when the values are
exactly 0..C-1 and C <= sqrt(n) (ImageNet's 1000 labels: yes; diabetes' 214 distinct progress scores: no)."""
SHOWN = 10
"""Classes and vector entries shown in the report."""
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})
"""Cells a CSV file uses for a missing value (compared in lower case), as pandas reads them."""
EXTENSIONS = (".csv", ".tsv", ".npy", ".npz", ".parquet")
NPY_MAGIC, NPZ_MAGIC = b"\x93NUMPY", b"PK"


class MissingDependencyError(ImportError, ValueError):
    """An optional package a file format needs is missing. A ``ValueError`` too, so one ``except`` catches
    every bad input of :func:`load_target`."""


# --------------------------------------------------------------------------------------------------
# The result.


@dataclass(frozen=True)
class Setting:
    """One hyper-parameter to start from, and why."""

    name: str
    value: Value
    reason: str


def _kwargs(params: Sequence[Setting]) -> dict[str, Any]:
    # Vectors travel as tuples (hashable, JSON-friendly); the losses take them as arrays.
    return {p.name: np.asarray(p.value, dtype=np.float64) if isinstance(p.value, tuple) else p.value for p in params}


def _show(value: Value) -> str:
    if isinstance(value, tuple):
        shown = [f"{v:.4g}" for v in value[:SHOWN]]
        more = ", ..." if len(value) > SHOWN else ""
        return f"np.array([{', '.join(shown)}{more}])"
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def _call(loss: str, params: Sequence[Setting]) -> str:
    """The call to copy, e.g. ``losskit.huber(pred, y, delta=12.3)``."""
    pred = "logits" if any(p.name == "from_logits" and p.value for p in params) else "pred"
    arguments = [pred, "y", *(f"{p.name}={_show(p.value)}" for p in params)]
    return f"losskit.{loss}({', '.join(arguments)})"


@dataclass(frozen=True)
class RunnerUp:
    """The second choice: a loss, its activation and parameters, and when to prefer it."""

    loss: str
    activation: str
    params: tuple[Setting, ...]
    reason: str

    def kwargs(self) -> dict[str, Any]:
        """The parameters as keyword arguments of the loss (vectors as NumPy arrays)."""
        return _kwargs(self.params)


@dataclass(frozen=True)
class Recommendation:
    """A loss for a target, with the measurements behind it. ``str()`` is the report for people."""

    task: str
    """``"regression"``, ``"binary"``, ``"multi-class"`` or ``"multi-label"``."""
    encoding: str
    """How the target is written, and what to map it to before calling the loss."""
    n: int
    """The number of examples (rows)."""
    loss: str
    """A canonical losskit name: ``losskit.get(loss)`` is the function."""
    activation: str
    """The model's output activation (a value of :data:`losskit.catalog.ACTIVATIONS`)."""
    params: tuple[Setting, ...]
    reasons: tuple[str, ...]
    runner_up: RunnerUp
    classes: tuple[Label, ...] = ()
    """The classes in label order (class ``i`` is ``classes[i]``; binary: negative, positive); labels
    of multi-label columns. Empty for regression."""
    counts: tuple[int, ...] = ()
    """Examples per class (positives per label for multi-label), aligned with ``classes``."""
    measured: Mapping[str, float] = field(default_factory=dict)
    """The numbers that decided: ``outlier_share``, ``skewness``, ``imbalance_ratio``..."""

    def kwargs(self) -> dict[str, Any]:
        """The parameters as keyword arguments of the loss (vectors as NumPy arrays)."""
        return _kwargs(self.params)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values only (``json.dumps`` takes it)."""

        def settings(params: Sequence[Setting]) -> dict[str, Any]:
            return {p.name: {"value": list(p.value) if isinstance(p.value, tuple) else p.value, "reason": p.reason}
                    for p in params}

        runner = self.runner_up
        return {
            "task": self.task, "encoding": self.encoding, "n": self.n, "classes": list(self.classes),
            "counts": list(self.counts), "measured": dict(self.measured), "loss": self.loss,
            "activation": self.activation, "params": settings(self.params), "reasons": list(self.reasons),
            "runner_up": {"loss": runner.loss, "activation": runner.activation, "params": settings(runner.params),
                          "reason": runner.reason},
        }

    def _summary(self) -> list[str]:
        lines = [f"Target: {self.n} examples, {self.task} ({self.encoding})"]
        if self.classes:
            pairs = [f"{c!s}: {k}" for c, k in zip(self.classes, self.counts, strict=True)][:SHOWN]
            more = f", ... ({len(self.classes)} in all)" if len(self.classes) > SHOWN else ""
            what = "positives per label" if self.task == "multi-label" else "examples per class"
            lines.append(f"  {what}: {', '.join(pairs)}{more}")
        numbers = [f"{k.replace('_', ' ')} {v:.2%}" if k.endswith("_share") else f"{k.replace('_', ' ')} {v:.4g}"
                   for k, v in self.measured.items()]
        lines.append(f"  measured: {', '.join(numbers)}")
        return lines

    def __str__(self) -> str:
        lines = [*self._summary(), "", f"Recommended loss: {self.loss}  (output activation: {self.activation})",
                 f"  {_call(self.loss, self.params)}"]
        lines += [f"  {p.name}={_show(p.value)}: {p.reason}" for p in self.params]
        lines += ["Why:", *(f"  - {r}" for r in self.reasons)]
        runner = self.runner_up
        lines += ["", f"Runner-up: {runner.loss}  (output activation: {runner.activation})",
                  f"  {_call(runner.loss, runner.params)}"]
        lines += [f"  {p.name}={_show(p.value)}: {p.reason}" for p in runner.params]
        lines += [f"  - {runner.reason}"]
        return "\n".join(lines)


# The activation each recommended loss pairs with, where the catalogue has no record (yet).
_ACTIVATIONS = {
    "mse": "identity", "mae": "identity", "huber": "identity", "log_cosh": "identity", "quantile": "identity",
    "binary_cross_entropy": "sigmoid", "focal": "sigmoid", "hinge": "identity", "multiclass_hinge": "identity",
    "categorical_cross_entropy": "softmax", "sparse_categorical_cross_entropy": "softmax",
    "categorical_focal": "softmax", "sparse_categorical_focal": "softmax", "kl_divergence": "softmax",
}


def _activation(loss: str) -> str:
    from .catalog import info

    try:
        return info(loss).activation
    except KeyError:  # a loss without a catalogue record
        return _ACTIVATIONS[loss]


def _runner(loss: str, params: Sequence[Setting], reason: str) -> RunnerUp:
    return RunnerUp(loss, _activation(loss), tuple(params), reason)


LOGITS = Setting("from_logits", True, "pass the raw scores, without the final activation: log p is then exact for "
                                      "scores of any size; apply the activation only to predict")


# --------------------------------------------------------------------------------------------------
# Reading the target and checking it.


def _count(n: int, noun: str) -> str:
    """``1 NaN value``, ``3 NaN values``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _positions(index: NDArray[np.intp], unit: str, units: str, base: int = 0) -> str:
    shown = ", ".join(str(int(i) + base) for i in index[:5])
    return f"{units if len(index) > 1 else unit} {shown}" + (f" and {len(index) - 5} more" if len(index) > 5 else "")


def _check_values(y: NDArray[Any], what: str) -> None:
    """Empty, missing and single-valued targets: nothing a loss can be chosen for."""
    if y.shape[0] == 0 or y.size == 0:
        raise ValueError(f"{what} is empty: no examples to recommend a loss for")
    if y.dtype.kind == "U":
        bad = np.char.str_len(np.char.strip(y)) == 0
        kind = "empty string"
    elif y.dtype.kind == "f":
        bad = ~np.isfinite(y)
        nan, inf = int(np.isnan(y).sum()), int(np.isinf(y).sum())
        kind = " and ".join(part for count, part in ((nan, "NaN"), (inf, "infinite")) if count) + " value"
    else:
        bad = np.zeros(y.shape, dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(y), -1).any(axis=1))
        raise ValueError(f"{what} has {_count(int(bad.sum()), kind)} (at {_positions(rows, 'index', 'indices')}); "
                         "drop or impute those examples first")
    first = y[:1]
    if (y == first).all():
        shown = repr(first[0].tolist()) if y.ndim == 1 else f"the row {first[0].tolist()}"
        raise ValueError(f"{what} has a single value, {shown}, in all {len(y)} examples: nothing to learn")


def _interpret(y: Any) -> NDArray[Any]:
    """``y`` as a 1-D or 2-D array of float64, int64, bool or str; a clear error for anything else."""
    try:
        a = np.asarray(y)
    except (ValueError, TypeError) as e:
        raise ValueError(f"cannot read y as an array: {e}") from None
    if a.dtype.kind == "O":
        a = _from_objects(a)
    if a.ndim == 0:
        raise ValueError(f"y must be a 1-D array of targets (or 2-D: one row per example), got a scalar {a!r}")
    if a.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D (one row per example), got {a.ndim}-D of shape {a.shape}")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]  # a single column is a 1-D target
    kind = a.dtype.kind
    if kind == "S":
        a = np.char.decode(a, "utf-8")
    elif kind in "iu":
        a = a.astype(np.int64)
    elif kind == "f":
        a = a.astype(np.float64)
    elif kind not in "bU":
        raise ValueError(f"cannot interpret a target of dtype {a.dtype}: expected numbers, booleans or strings")
    if a.ndim == 2 and a.dtype.kind == "U":
        raise ValueError(f"a 2-D target must hold numbers (one-hot or 0/1 columns), got strings of shape {a.shape}")
    return a


def _from_objects(a: NDArray[Any]) -> NDArray[Any]:
    items = a.ravel().tolist()
    missing = np.flatnonzero([v is None for v in items])
    if len(missing):
        where = _positions(missing, "flat index", "flat indices")
        raise ValueError(f"y has {_count(len(missing), 'missing value')} (None) (at {where}); "
                         "drop or impute those examples first")
    if all(isinstance(v, str) for v in items):
        return np.array(items, dtype=str).reshape(a.shape)
    if all(isinstance(v, (bool, int, float, np.number, np.bool_)) and not isinstance(v, complex) for v in items):
        return np.array(items, dtype=np.float64).reshape(a.shape)
    kinds = sorted({type(v).__name__ for v in items})
    raise ValueError(f"cannot interpret a target of Python objects of types {', '.join(kinds)}: "
                     "expected all numbers or all strings")


def _missing_module(what: str) -> MissingDependencyError:
    return MissingDependencyError(f"reading {what} files needs pandas and pyarrow: pip install pandas pyarrow")


def _select(columns: Sequence[str], column: str | None, source: str) -> list[int]:
    """Indices of the named columns. ``column`` is one name, or several separated by commas, each
    one a name or a prefix ending in ``*`` (``"digit_*"``): one-hot and multi-label targets."""
    if column is None:
        if len(columns) == 1:
            return [0]
        raise ValueError(f"{source} has {len(columns)} columns: name the target (available: {', '.join(columns)})")
    if column in columns:  # a name that itself holds a comma
        return [list(columns).index(column)]
    chosen: list[int] = []
    for item in (c.strip() for c in column.split(",")):
        if item.endswith("*"):
            found = [i for i, c in enumerate(columns) if c.startswith(item[:-1])]
        else:
            found = [i for i, c in enumerate(columns) if c == item]
        if not found:
            close = difflib.get_close_matches(item, columns, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"no column {item!r} in {source}{hint} (available: {', '.join(columns)})")
        chosen += [i for i in found if i not in chosen]
    return chosen


def _parse(cells: list[str]) -> NDArray[Any]:
    """A column of text cells as int64, else float64, else str."""
    for kind in (int, float):
        try:
            return np.array([kind(c) for c in cells])
        except ValueError:
            pass
    return np.array([c.strip() for c in cells], dtype=str)


def _read_csv(path: Path, column: str | None, delimiter: str) -> NDArray[Any]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            numbered = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise ValueError(f"{path} is not a readable {path.suffix} file: {e}") from None
    if not numbered:
        raise ValueError(f"{path} has no rows: an empty file")
    header = [c.strip() for c in numbered[0][1]]
    if all(_is_number(c) for c in header):
        raise ValueError(f"{path} has no header row: its first line holds numbers; "
                         "add a line of column names")
    rows = numbered[1:]
    if not rows:
        raise ValueError(f"{path} has a header but no data rows")
    chosen = _select(header, column, str(path))
    for line, row in rows:
        if len(row) <= max(chosen):
            raise ValueError(f"line {line} of {path} has {len(row)} fields, the header has {len(header)}")
    arrays = []
    for i in chosen:
        cells = [row[i] for _, row in rows]
        gaps = np.flatnonzero([c.strip().lower() in MISSING for c in cells])
        if len(gaps):
            lines = np.array([rows[g][0] for g in gaps])
            raise ValueError(f"column {header[i]!r} of {path} has {_count(len(gaps), 'missing cell')} (empty or NaN) "
                             f"on {_positions(lines, 'line', 'lines')}; drop or impute those rows")
        arrays.append(_parse(cells))
    if len(arrays) == 1:
        return arrays[0]
    text = [header[i] for i, a in zip(chosen, arrays, strict=True) if a.dtype.kind == "U"]
    if text:
        raise ValueError(f"columns of a several-column target must hold numbers (one-hot or 0/1 labels); "
                         f"{', '.join(map(repr, text))} of {path} hold text")
    return np.column_stack(arrays)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_npy(path: Path, column: str | int | None) -> NDArray[Any]:
    a = np.asarray(_load_numpy(path))
    if column is None or column == "":
        return a
    if a.ndim != 2:
        raise ValueError(f"column {column!r} selects a column of a 2-D array; {path} holds shape {a.shape}: "
                         "pass no column")
    try:
        index = [int(column)] if isinstance(column, int) else [int(c) for c in str(column).split(",")]
    except ValueError:
        raise ValueError(f"the column of an .npy file is an integer index (or several, comma-separated), "
                         f"got {column!r}") from None
    bad = [i for i in index if not -a.shape[1] <= i < a.shape[1]]
    if bad:
        raise ValueError(f"column {bad[0]} is out of range: {path} has {a.shape[1]} columns (0 to {a.shape[1] - 1})")
    return a[:, index[0]] if len(index) == 1 else a[:, index]


def _read_npz(path: Path, column: str | None) -> NDArray[Any]:
    with _load_numpy(path) as archive:
        keys = list(archive.files)
        if not keys:
            raise ValueError(f"{path} holds no arrays")
        if column is None and len(keys) > 1:
            raise ValueError(f"{path} holds {len(keys)} arrays: name the target (available: {', '.join(keys)})")
        if column is not None and column not in keys:
            close = difflib.get_close_matches(column, keys, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"no array {column!r} in {path}{hint} (available: {', '.join(keys)})")
        key = keys[0] if column is None else column
        try:
            return np.asarray(archive[key])
        except ValueError as e:  # an object array: loading it would unpickle
            raise ValueError(f"array {key!r} of {path} cannot be read without unpickling ({e})") from None


def _load_numpy(path: Path) -> Any:
    # np.load takes anything else for a pickle: check the format's magic bytes first.
    with path.open("rb") as f:
        head = f.read(len(NPY_MAGIC))
    npy = path.suffix.lower() == ".npy"
    if npy and head.startswith(NPZ_MAGIC):
        raise ValueError(f"{path} is an .npz archive, not an .npy file: rename it")
    if not npy and head == NPY_MAGIC:
        raise ValueError(f"{path} is an .npy file, not an .npz archive: rename it")
    if not head.startswith(NPY_MAGIC if npy else NPZ_MAGIC):
        raise ValueError(f"{path} is not a valid NumPy file: a {path.suffix} file begins with "
                         f"{NPY_MAGIC if npy else NPZ_MAGIC!r}")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise ValueError(f"{path} holds Python objects; save the target with a numeric or string dtype") from None
        raise ValueError(f"{path} is not a valid NumPy file: {e}") from None
    except (EOFError, OSError) as e:
        if isinstance(e, (FileNotFoundError, PermissionError)):
            raise
        raise ValueError(f"{path} is not a valid NumPy file: {e}") from None


def _read_parquet(path: Path, column: str | None) -> NDArray[Any]:
    try:  # optional: imported by name, so neither is a dependency (nor needs stubs)
        pandas = importlib.import_module("pandas")
        importlib.import_module("pyarrow")
    except ImportError:
        raise _missing_module(".parquet") from None
    try:
        frame = pandas.read_parquet(path)
    except Exception as e:  # pyarrow's own error classes: a corrupt or non-parquet file
        raise ValueError(f"{path} is not a readable .parquet file: {e}") from None
    names = [str(c) for c in frame.columns]
    if not names or len(frame) == 0:
        raise ValueError(f"{path} has no data rows")
    chosen = _select(names, column, str(path))
    arrays = []
    for i in chosen:
        series = frame.iloc[:, i]
        gaps = np.flatnonzero(np.asarray(series.isna()))
        if len(gaps):
            raise ValueError(f"column {names[i]!r} of {path} has {_count(len(gaps), 'missing value')} "
                             f"(in {_positions(gaps, 'row', 'rows', base=1)}); drop or impute those rows")
        numeric = pandas.api.types.is_numeric_dtype(series) or pandas.api.types.is_bool_dtype(series)
        arrays.append(series.to_numpy() if numeric else series.astype(str).to_numpy().astype(str))
    if len(arrays) == 1:
        return np.asarray(arrays[0])
    text = [names[i] for i, a in zip(chosen, arrays, strict=True) if a.dtype.kind == "U"]
    if text:
        raise ValueError(f"columns of a several-column target must hold numbers (one-hot or 0/1 labels); "
                         f"{', '.join(map(repr, text))} of {path} hold text")
    return np.column_stack(arrays)


def load_target(path: str, column: str | None = None) -> NDArray[Any]:
    """Read the target of a data file, ready for :func:`recommend`.

    Args:
      path: a ``.csv`` (or tab-separated ``.tsv``) file with a header row, a ``.npy`` array, a
        ``.npz`` archive, or a ``.parquet`` file (needs pandas and pyarrow).
      column: which target. CSV and parquet: a column name; a one-hot or multi-label target is
        several columns, comma-separated (``"a,b,c"``), each also a prefix ending in ``*``
        (``"label_*"``). ``.npy``: ``None`` for the whole array, or a column index of a 2-D array
        (``"0,1,2"`` for several). ``.npz``: the key of the array. ``None`` is fine where the file
        holds a single column or array.

    Returns:
      A 1-D array (int64, float64 or str), or 2-D for several columns.

    Raises:
      FileNotFoundError (an ``OSError``): no such file.
      MissingDependencyError (``ImportError`` and ``ValueError``): parquet without pandas/pyarrow.
      ValueError: an empty or unreadable file, an unknown column (the error lists the available
        ones), missing cells in the target (how many, and where), a single-valued target, an
        unsupported extension.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(f"unsupported file type {file.suffix or '(no extension)'!r} of {path}: "
                         f"expected one of {', '.join(EXTENSIONS)}")
    if not file.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if file.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a data file")
    if file.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes)")
    if suffix in (".csv", ".tsv"):
        y = _read_csv(file, column, "," if suffix == ".csv" else "\t")
    elif suffix == ".npy":
        y = _read_npy(file, column)
    elif suffix == ".npz":
        y = _read_npz(file, column)
    else:
        y = _read_parquet(file, column)
    what = f"the target of {path}" + (f" (column {column!r})" if column is not None else "")
    _check_values(_interpret(y), what)
    return y


# --------------------------------------------------------------------------------------------------
# Regression.


def _robust_scale(y: Floats) -> tuple[float, float, str]:
    """The median, a robust estimate of sigma, and how it was estimated."""
    median = float(np.median(y))
    mad = float(np.median(np.abs(y - median)))
    if mad > 0:
        return median, MAD_TO_SD * mad, f"1.4826 * MAD = 1.4826 * {mad:.4g}"
    # Over half the values equal the median: the MAD is 0, the mean absolute deviation is not.
    mean_ad = float(np.mean(np.abs(y - median)))
    return median, MEANAD_TO_SD * mean_ad, f"1.2533 * mean |y - median| = 1.2533 * {mean_ad:.4g} (the MAD is 0)"


def _skewness(y: Floats) -> float:
    centred = y - y.mean()
    variance = float(np.mean(centred**2))
    return float(np.mean(centred**3)) / variance**1.5 if variance > 0 else 0.0


def _regression(y: Floats, encoding: str) -> Recommendation:
    median, scale, how = _robust_scale(y)
    z = np.abs(y - median) / scale
    outliers = int(np.sum(z > OUTLIER_Z))
    share = outliers / len(y)
    skew = _skewness(y)
    delta = HUBER_K * scale
    huber_delta = Setting(
        "delta", delta,
        f"{HUBER_K} * {scale:.4g}, the robust scale {how}: Huber's 95%-efficiency constant times the noise scale, "
        "here the target's; residuals of a fitted model are smaller: re-estimate it from their MAD after a first fit")
    distinct = len(np.unique(y))
    measured = {"distinct_values": float(distinct), "median": median, "robust_scale": scale,
                "outlier_share": share, "skewness": skew}
    why = (f" (more than {FEW_CLASSES} integers, not 0..C-1 with C <= sqrt(n): quantities, not class labels)"
           if encoding == "integer values" else "")
    reasons = [f"{distinct} distinct {encoding}: a regression target{why}",
               f"{outliers} of {len(y)} values ({share:.1%}) lie beyond {OUTLIER_Z} robust sd of the median "
               f"(|y - median| / {scale:.4g} > {OUTLIER_Z}, Iglewicz & Hoaglin); normal data has 0.05%"]
    params: tuple[Setting, ...]
    if share > OUTLIER_SHARE:
        loss, params = "huber", (huber_delta,)
        reasons.append(f"above {OUTLIER_SHARE:.0%}: squared errors would let these few values dominate the fit; "
                       "huber is quadratic near 0 and linear beyond delta, so each outlier pulls with a bounded force")
        runner = _runner("mae", (), "fits the conditional median and ignores how far the outliers lie; more robust "
                         "still, but 64% efficient on normal noise and with a kink at 0")
    else:
        loss, params = "mse", ()
        reasons.append(f"at most {OUTLIER_SHARE:.0%}: no gross outliers, so mse -- the maximum-likelihood fit under "
                       "normal noise, smooth and convex -- fits the conditional mean")
        runner = _runner("huber", (huber_delta,), "if new data has heavier tails than this sample: the same fit near "
                         "0, a bounded pull beyond delta")
    if abs(skew) > SKEWED:
        advice = "fitting log(y) (all values are positive)" if y.min() > 0 else "fitting a transform of y (Yeo-Johnson)"
        reasons.append(f"skewness {skew:.2f} (|skewness| > {SKEWED:g}, highly skewed): consider {advice} with the "
                       "same loss; its errors are then relative")
    else:
        reasons.append(f"skewness {skew:.2f}: roughly symmetric (|skewness| <= {SKEWED:g})")
    return Recommendation("regression", encoding, len(y), loss, _activation(loss), params, tuple(reasons), runner,
                          measured=measured)


# --------------------------------------------------------------------------------------------------
# Classification.


def _balance(counts: NDArray[np.int64]) -> float:
    present = counts[counts > 0]
    return float(present.max() / present.min())


def _ratio_reason(ratio: float, counts: Sequence[int]) -> str:
    minority = min(c for c in counts if c > 0) / sum(counts)
    if ratio <= MILD_IMBALANCE:
        return (f"imbalance {ratio:.3g}:1 (at most {MILD_IMBALANCE:g}:1, minority {minority:.1%}): balanced enough "
                "for the plain cross-entropy, which keeps its probabilities calibrated")
    if ratio <= SEVERE_IMBALANCE:
        return (f"imbalance {ratio:.3g}:1 (between {MILD_IMBALANCE:g} and {SEVERE_IMBALANCE:g}:1, minority "
                f"{minority:.1%}): weighting by inverse class frequency gives each class an equal share of the loss")
    return (f"imbalance {ratio:.3g}:1 (above {SEVERE_IMBALANCE:g}:1, minority {minority:.1%}): the easy majority "
            "examples would dominate the loss even once learnt; the focal factor (1 - p_t)^gamma removes them")


def _binary(counts: NDArray[np.int64], classes: tuple[Label, ...], encoding: str) -> Recommendation:
    negatives, positives = int(counts[0]), int(counts[1])
    ratio = _balance(counts)
    n = negatives + positives
    pos_weight = Setting("pos_weight", negatives / positives,
                         f"negatives / positives = {negatives} / {positives}: both classes weigh the same in the "
                         "loss (probabilities then overstate the positives: recalibrate, or move the threshold)")
    gamma = Setting("gamma", FOCAL_GAMMA, "Lin et al.'s best focusing value: an example predicted with p_t = 0.9 "
                    "costs 100 times less than under cross-entropy")
    alpha = Setting("alpha", negatives / n, f"weight of the positive class by inverse frequency, negatives / all = "
                    f"{negatives} / {n}, as Lin et al. suggest to start (lower it if the positives get "
                    "over-predicted: gamma already discounts the easy negatives)")
    reasons = [f"two distinct values ({encoding}): a binary task", _ratio_reason(ratio, counts.tolist())]
    params: tuple[Setting, ...]
    if ratio > SEVERE_IMBALANCE:
        loss, params = "focal", (gamma, alpha, LOGITS)
        runner = _runner("binary_cross_entropy", (pos_weight, LOGITS),
                         "weighted cross-entropy: simpler, no gamma to tune; enough when the positives are not "
                         "outnumbered by easy negatives")
    elif ratio > MILD_IMBALANCE:
        loss, params = "binary_cross_entropy", (pos_weight, LOGITS)
        runner = _runner("focal", (gamma, alpha, LOGITS),
                         "if the weighted loss still misses positives: focal also discounts easy examples")
    else:
        loss, params = "binary_cross_entropy", (LOGITS,)
        runner = _runner("hinge", (), "if only the decision matters, not probabilities: a margin loss (SVM-like) "
                         "on raw scores; it takes the 0/1 labels as they are")
    measured = {"imbalance_ratio": ratio, "positive_share": positives / n}
    return Recommendation("binary", encoding, n, loss, _activation(loss), params, tuple(reasons), runner,
                          classes, tuple(counts.tolist()), measured)


def _multiclass(counts: NDArray[np.int64], classes: tuple[Label, ...], encoding: str, *, one_hot: bool,
                ordered: bool) -> Recommendation:
    n, c = int(counts.sum()), len(counts)
    ratio = _balance(counts)
    # N / (C n_c): the mean weight over the examples is 1, so the loss keeps its scale (scikit-learn's "balanced").
    inverse = tuple(n / (c * k) if k else 1.0 for k in counts.tolist())
    class_weight = Setting("class_weight", inverse, f"inverse class frequency, N / (C * n_c) with N = {n}, C = {c}: "
                           "each class weighs the same in total, and the mean weight is 1")
    alpha = Setting("alpha", inverse, "inverse class frequency N / (C * n_c): each class weighs the same in total")
    gamma = Setting("gamma", FOCAL_GAMMA, "Lin et al.'s best focusing value: a class predicted with p = 0.9 costs "
                    "100 times less than under cross-entropy")
    prefix = "" if one_hot else "sparse_"
    cross_entropy, focal = f"{prefix}categorical_cross_entropy", f"{prefix}categorical_focal"
    reasons = [f"{c} classes ({encoding}): a multi-class task, one softmax over the classes",
               "one-hot rows: the categorical cross-entropy takes them as they are" if one_hot else
               "labels: the sparse cross-entropy takes their integer codes, without building one-hot rows",
               _ratio_reason(ratio, counts.tolist())]
    params: tuple[Setting, ...]
    if absent := int(np.sum(counts == 0)):
        reasons.append(f"{absent} of the {c} columns are never 1: their class is never seen")
    if ratio > SEVERE_IMBALANCE:
        loss, params = focal, (gamma, alpha, LOGITS)
        runner = _runner(cross_entropy, (class_weight, LOGITS),
                         "weighted cross-entropy: simpler, no gamma to tune")
    elif ratio > MILD_IMBALANCE:
        loss, params = cross_entropy, (class_weight, LOGITS)
        runner = _runner(focal, (gamma, alpha, LOGITS), "if the rare classes are still missed: focal also "
                         "discounts the examples already classified well")
    elif one_hot:
        loss, params = cross_entropy, (LOGITS,)
        runner = _runner("sparse_categorical_cross_entropy", (LOGITS,),
                         "the same numbers on the integer labels y.argmax(axis=1), without the one-hot rows")
    else:
        loss, params = cross_entropy, (LOGITS,)
        runner = _runner("multiclass_hinge", (), "if only the predicted class matters, not probabilities: "
                         "a margin loss on raw class scores")
    if ordered:
        reasons.append("if these integers are quantities (counts, ratings, ages), not categories, "
                       "treat them as a regression target instead")
    measured = {"classes": float(c), "imbalance_ratio": ratio}
    return Recommendation("multi-class", encoding, n, loss, _activation(loss), params, tuple(reasons), runner,
                          classes, tuple(counts.tolist()), measured)


def _multilabel(y: Floats) -> Recommendation:
    n, c = y.shape
    positives = y.sum(axis=0).astype(np.int64)
    negatives = n - positives
    constant = np.flatnonzero((positives == 0) | (negatives == 0))
    ratios = np.maximum(positives, negatives) / np.maximum(np.minimum(positives, negatives), 1)
    worst = float(ratios.max()) if len(constant) < c else 1.0
    reasons = [f"{c} columns of 0/1 with {int((y.sum(axis=1) != 1).sum())} of {n} rows not summing to 1: "
               "multi-label, one independent yes/no per label, so one sigmoid per label (not a softmax)"]
    params: tuple[Setting, ...] = (LOGITS,)
    if worst > MILD_IMBALANCE:
        weights = tuple(float(neg / pos) if pos and neg else 1.0
                        for pos, neg in zip(positives.tolist(), negatives.tolist(), strict=True))
        params = (Setting("pos_weight", weights, "negatives / positives of each label: its two values weigh the "
                          "same (a (C,) weight, broadcast along the labels)"), LOGITS)
        reasons.append(f"the most imbalanced label is {worst:.3g}:1 (above {MILD_IMBALANCE:g}:1): weight "
                       "each label's positives by its inverse frequency")
    else:
        reasons.append(f"the most imbalanced label is {worst:.3g}:1 (at most {MILD_IMBALANCE:g}:1): no weights")
    if len(constant):
        reasons.append(f"label{'s' if len(constant) > 1 else ''} {', '.join(map(str, constant.tolist()))} "
                       "never change (always 0 or always 1): nothing to learn there; drop them")
    runner = _runner("focal", (Setting("gamma", FOCAL_GAMMA, "discounts the many easy negatives of rare labels"),
                               Setting("alpha", None, "no class weight: one alpha would serve all labels"), LOGITS),
                     "when most labels are rare: focal discounts the easy negatives that dominate the sum")
    measured = {"labels": float(c), "max_imbalance_ratio": worst, "labels_per_row": float(y.sum(axis=1).mean())}
    return Recommendation("multi-label", f"{c} columns of 0/1", n, "binary_cross_entropy",
                          _activation("binary_cross_entropy"), params, tuple(reasons), runner,
                          tuple(range(c)), tuple(positives.tolist()), measured)


def _soft_labels(y: Floats) -> Recommendation:
    n, c = y.shape
    reasons = [f"{c} columns of probabilities summing to 1 in every row: a multi-class task with soft targets",
               "the categorical cross-entropy takes a distribution as its target; its minimum is the target's "
               "entropy"]
    runner = _runner("kl_divergence", (), "the same gradient, shifted to reach 0 at a perfect prediction: easier "
                     "to read (distillation); it takes probabilities, not logits")
    measured = {"classes": float(c), "mean_max_probability": float(y.max(axis=1).mean())}
    return Recommendation("multi-class", "class probabilities (soft labels)", n, "categorical_cross_entropy",
                          _activation("categorical_cross_entropy"), (LOGITS,), tuple(reasons), runner,
                          measured=measured)


def _columns(y: NDArray[Any]) -> Recommendation:
    values = y.astype(np.float64)
    binary = bool(np.isin(values, (0.0, 1.0)).all())
    sums = values.sum(axis=1)
    if binary and (sums == 1).all():
        counts = values.sum(axis=0).astype(np.int64)
        return _multiclass(counts, tuple(range(values.shape[1])), f"one-hot rows, {values.shape[1]} columns",
                           one_hot=True, ordered=False)
    if binary:
        return _multilabel(values)
    if (values >= 0).all() and (values <= 1).all() and np.allclose(sums, 1, rtol=0, atol=1e-6):
        return _soft_labels(values)
    raise ValueError(f"a 2-D target must be one-hot rows, 0/1 multi-label columns or class probabilities; "
                     f"got {values.shape[1]} columns of other values (a multi-output regression?): "
                     "ask for one column at a time")


def _labels(y: NDArray[Any]) -> Recommendation:
    """A 1-D target of labels or numbers, by its distinct values."""
    distinct, counts = np.unique(y, return_counts=True)
    kind = y.dtype.kind
    if kind == "U":
        if len(distinct) == len(y) and len(y) > FEW_CLASSES:
            raise ValueError(f"every one of the {len(y)} values of y is a different string: an identifier, "
                             "not a target")
        classes = tuple(str(v) for v in distinct.tolist())
        if len(distinct) == 2:
            # The minority is the positive class: pos_weight and alpha then weigh up the rare class.
            order = (1, 0) if counts[0] < counts[1] else (0, 1)
            classes, counts = (classes[order[0]], classes[order[1]]), counts[list(order)]
            return _binary(counts, classes, f"strings: map {classes[0]!r} -> 0, {classes[1]!r} -> 1")
        mapping = ", ".join(f"{c!r} -> {i}" for i, c in enumerate(classes[:3])) + (", ..." if len(classes) > 3 else "")
        return _multiclass(counts, classes, f"strings: map them to 0..{len(classes) - 1} in sorted order "
                           f"({mapping})", one_hot=False, ordered=False)
    if kind == "b":  # two values: a single one was refused before
        return _binary(counts, (False, True), "booleans: True is the positive class")
    numbers: list[Label] = [int(v) if float(v).is_integer() else float(v) for v in distinct.tolist()]
    integral = all(isinstance(v, int) for v in numbers)
    if len(distinct) == 2:
        encoding = ("labels 0/1" if numbers == [0, 1]
                    else f"values {numbers[0]} and {numbers[1]}: map {numbers[0]} -> 0, {numbers[1]} -> 1")
        return _binary(counts, tuple(numbers), encoding)
    zero_based = numbers == list(range(len(numbers)))
    if integral and (len(distinct) <= FEW_CLASSES or (zero_based and len(distinct) <= math.sqrt(len(y)))):
        encoding = (f"integer labels 0..{len(numbers) - 1}" if zero_based
                    else f"integer labels {numbers[0]}..{numbers[-1]}: map them to 0..{len(numbers) - 1} in sorted "
                         "order")
        return _multiclass(counts, tuple(numbers), encoding, one_hot=False, ordered=not zero_based)
    return _regression(y.astype(np.float64), "integer values" if integral else "real values")


def recommend(y: Any) -> Recommendation:
    """The loss for a target ``y``, with its activation, parameters, reasons and a runner-up.

    Args:
      y: the targets: 1-D numbers, booleans or strings (regression, binary or multi-class), or 2-D
        rows of one-hot, 0/1 multi-label or probability columns. A NumPy array, list, pandas
        Series/DataFrame or CPU tensor; a single column is taken as 1-D.

    Returns:
      A :class:`Recommendation`; ``print(r)`` shows the report, ``r.kwargs()`` the parameters to
      pass, ``r.to_dict()`` everything as plain values.

    Raises:
      ValueError: an empty ``y``, NaN/inf or missing values, a single value, a 3-D array, an
        uninterpretable dtype (complex, dates, mixed objects), or 2-D values that are not class
        columns.

    Integer targets are class labels when they take at most 20 distinct values, or exactly
    0..C-1 with C <= sqrt(n); other numbers are a regression target. Two distinct values are
    always a binary task (strings: the minority is the positive class).
    """
    a = _interpret(y)
    _check_values(a, "y")
    return _columns(a) if a.ndim == 2 else _labels(a)
