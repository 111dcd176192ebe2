"""The ``losskit`` command: browse the catalogue, plot losses, pick a loss for a data set.

``losskit list`` tabulates the catalogue, ``losskit show NAME`` prints one record, ``losskit plot``
draws losses and their derivatives along their probe axis (see :mod:`losskit.catalog`), and
``losskit recommend`` reads a data file and suggests losses for its target; ``losskit compare``
and ``losskit tour`` train models with competing losses (:mod:`losskit.lab`). ``python -m losskit``
runs the same command.

Every user error (unknown loss, option or parameter, a bad value, an existing output file) ends
with exit status 2 and one line on stderr, ``losskit: error: ...``: the command is meant for
terminals and scripts, where a traceback hides the one thing to fix.

matplotlib (the ``lab`` extra) is needed by ``plot`` only and imported there; ``compare`` and ``tour``
import the lab, and with it torch, only when they run.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shlex
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from . import __version__
from .catalog import FAMILIES, Record, catalog, info

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .lab.task import Options

__all__ = [
    "Curve", "build_parser", "common_axis", "curves", "main", "parse_value", "plot_figure", "split_values", "table",
]

PROG = "losskit"
TABLE_WIDTH = 120
MIN_COLUMN = 12
"""The narrowest a truncated column of ``losskit list`` gets."""
FIGSIZE = (8.0, 7.0)
DPI = 100
"""Resolution of a saved image: 800 x 700 pixels, whatever the local matplotlibrc says."""
POINTS = 2001
"""Grid points of a plotted curve: fine enough that central differences show kinks as jumps."""
FORMATS = (".png", ".svg", ".pdf")
INSTALL_HINT = 'losskit plot needs matplotlib: pip install "losskit[lab]"'


class CommandError(ValueError):
    """A user error: printed as one ``losskit: error:`` line, exit status 2 (a ValueError in library use)."""


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")


# --------------------------------------------------------------------------------------------------
# losskit list


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, flexible: Iterable[int],
          width: int = TABLE_WIDTH, gap: str = "  ") -> list[str]:
    """Aligned plain-text columns within ``width`` characters: the ``flexible`` columns wrap onto more lines.

    >>> print("\\n".join(table(("a", "b"), [("x", "a long cell, wrapped")], flexible=[1], width=15)))
    a  b
    x  a long cell,
       wrapped
    """
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    flexible = list(flexible)
    # Narrow the widest flexible column one character at a time: long cells share the loss evenly.
    while sum(widths) + len(gap) * (len(widths) - 1) > width:
        widest = max(flexible, key=lambda i: widths[i])
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    lines = []
    for row in (header, *rows):
        cells = [textwrap.wrap(cell, w, break_on_hyphens=False) or [""] for cell, w in zip(row, widths, strict=True)]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)]
            lines.append(gap.join(parts).rstrip())
    return lines


def _list(args: argparse.Namespace) -> int:
    # Grouped by family in the catalogue's order of families (regression first), not by registration.
    records = sorted(catalog(args.family), key=lambda r: FAMILIES.index(r.family))
    rows = [(r.family, r.name, r.measures, r.use_cases[0] if r.use_cases else "", r.activation) for r in records]
    # A terminal shows as much as fits in it; a pipe or file gets a stable TABLE_WIDTH.
    width = shutil.get_terminal_size((TABLE_WIDTH, 24)).columns if sys.stdout.isatty() else TABLE_WIDTH
    lines = table(("family", "loss", "measures", "use it for", "activation"), rows, flexible=(2, 3), width=width)
    print("\n".join(lines))
    print(f"\n{len(records)} losses. Details: {PROG} show NAME; curves: {PROG} plot NAME [NAME ...]")
    return 0


# --------------------------------------------------------------------------------------------------
# losskit show


def _show(args: argparse.Namespace) -> int:
    record = info(args.name)
    print(record)
    print(f"\nPlot: {PROG} plot {record.name} draws the loss of one example as a function of the {record.probe_axis}")
    return 0


# --------------------------------------------------------------------------------------------------
# losskit plot


@dataclass(frozen=True)
class Curve:
    """One curve of a plot: a loss with the hyper-parameters set on the command line (others at default)."""

    record: Record
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        settings = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in self.params.items())
        return f"{self.record.name} ({settings})" if settings else self.record.name

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The loss along ``x`` and its derivative by central differences (one-sided at the two ends)."""
        try:
            # Extreme settings may overflow to inf: matplotlib leaves a gap, a warning would only add noise.
            with np.errstate(all="ignore"):
                y = np.asarray(self.record.probe(x, **self.params), dtype=np.float64)
        except TypeError as exc:
            fixed = re.search(r"multiple values for keyword argument '(\w+)'", str(exc))
            if fixed is None:
                raise CommandError(f"{self.label}: {_one_line(exc)}") from exc
            raise CommandError(f"{self.record.name}: {fixed[1]} is fixed by the probe ({self.record.probe_axis}) "
                               f"and cannot be set here") from exc
        except ValueError as exc:
            # The loss validates its own hyper-parameters: its message names the bad value.
            raise CommandError(f"{self.label}: {_one_line(exc)}") from exc
        if y.shape != x.shape:
            raise CommandError(f"{self.label}: the probe returned shape {y.shape} for {x.shape} points")
        with np.errstate(all="ignore"):
            return y, np.gradient(y, x)


def split_values(text: str) -> list[str]:
    """``text`` split at the commas outside brackets.

    >>> split_values("0.5, [1,2], none")
    ['0.5', '[1,2]', 'none']
    """
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [p.strip() for p in [*parts, text[start:]]]


def parse_value(text: str) -> Any:
    """A command-line value as the Python value a loss expects; ``[a, b, ...]`` is a list (per-class weights).

    >>> [parse_value(t) for t in ("2", "0.5", "1e-3", "true", "None", "'sum'", "mean", "[2, 1,0.5]")]
    [2, 0.5, 0.001, True, None, 'sum', 'mean', [2, 1, 0.5]]
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        return [parse_value(item) for item in split_values(text[1:-1]) if item]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _setting(text: str, option: str) -> tuple[str | None, str, str]:
    """``[NAME.]KEY=VALUE`` as (canonical loss name or None, key, value text)."""
    target, sep, value = text.partition("=")
    if not sep or not target.strip() or not value.strip():
        raise CommandError(f"{option} {text!r}: expected [NAME.]KEY=VALUE, e.g. {option} delta=2")
    name, dot, key = target.strip().rpartition(".")
    if not key.strip() or (dot and not name.strip()):
        raise CommandError(f"{option} {text!r}: expected [NAME.]KEY=VALUE, e.g. {option} delta=2")
    return (info(name).name if dot else None), key.strip(), value.strip()


def _assign(settings: Sequence[str], option: str, records: Sequence[Record],
            parse: Callable[[str], Any]) -> dict[str, dict[str, Any]]:
    """Each loss's values from ``--param`` or ``--sweep``: ``KEY=`` for every loss with KEY, ``NAME.KEY=`` for one."""
    known = {r.name: {p.name for p in r.params} for r in records}
    general: dict[str, dict[str, Any]] = {r.name: {} for r in records}
    specific: dict[str, dict[str, Any]] = {r.name: {} for r in records}
    for text in settings:
        name, key, value = _setting(text, option)
        if name is None:
            owners = [n for n in known if key in known[n]]
            if not owners:
                have = "; ".join(f"{n}: {', '.join(sorted(k)) or 'none'}" for n, k in known.items())
                raise CommandError(f"{option} {text}: no loss to plot has a parameter {key!r} ({have})")
            for owner in owners:
                general[owner][key] = parse(value)
        elif name not in known:
            raise CommandError(f"{option} {text}: {name} is not among the losses to plot ({', '.join(known)})")
        elif key not in known[name]:
            raise CommandError(f"{option} {text}: {name} has no parameter {key!r} "
                               f"(its parameters: {', '.join(sorted(known[name])) or 'none'})")
        else:
            specific[name][key] = parse(value)
    # A setting for one loss overrides one for all, whatever their order on the command line.
    return {n: {**general[n], **specific[n]} for n in known}


def _sweep_values(text: str) -> list[Any]:
    values = [parse_value(v) for v in split_values(text) if v]
    if not values:
        raise CommandError(f"--sweep: no values in {text!r}")
    return values


def curves(names: Sequence[str], params: Sequence[str] = (), sweeps: Sequence[str] = ()) -> list[Curve]:
    """The curves of ``losskit plot NAME ... --param ... --sweep ...``, one per loss and swept value.

    ``params`` and ``sweeps`` are ``KEY=VALUE`` (every named loss with that hyper-parameter) or
    ``NAME.KEY=VALUE``; a sweep's VALUE is a comma-separated list and overrides a ``--param`` of the
    same key. Unknown names and keys raise; the values themselves are checked by each loss when drawn.
    """
    records = [info(name) for name in names]
    seen: set[str] = set()
    for record in records:
        if record.name in seen:
            raise CommandError(f"{record.name} is named twice; to draw it with several values of a parameter "
                               f"use --sweep, e.g. --sweep {record.name}.KEY=1,2,3")
        seen.add(record.name)
    fixed = _assign(params, "--param", records, parse_value)
    swept = _assign(sweeps, "--sweep", records, _sweep_values)
    result = []
    for record in records:
        keys = list(swept[record.name])
        for values in itertools.product(*(swept[record.name][k] for k in keys)):
            result.append(Curve(record, {**fixed[record.name], **dict(zip(keys, values, strict=True))}))
    return result


def _axis_key(record: Record) -> str:
    return " ".join(record.probe_axis.lower().split())


def common_axis(records: Sequence[Record]) -> str:
    """The probe axis the records share; a ValueError names each axis when they differ."""
    if len({_axis_key(r) for r in records}) > 1:
        each = "; ".join(f"{name}: {axis}" for name, axis in {r.name: r.probe_axis for r in records}.items())
        raise CommandError(f"cannot draw these losses on one figure, they are functions of different things ({each}); "
                           f"plot each group separately")
    return records[0].probe_axis


def _x_range(records: Sequence[Record], x_range: tuple[float, float] | None) -> tuple[float, float]:
    if x_range is not None:
        return x_range
    # Losses on one axis may have different natural ranges: show all of each.
    return min(r.probe_range[0] for r in records), max(r.probe_range[1] for r in records)


def _robust_limits(ax: Axes, values: Sequence[np.ndarray]) -> None:
    """Keep a curve that blows up at one end (a log near p = 0) from flattening all the others."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    if finite.size == 0:
        return
    low, high = np.percentile(finite, [1, 99])
    full_low, full_high = float(np.min(finite)), float(np.max(finite))
    if high > low and full_high - full_low > 5 * (high - low):
        pad = 0.1 * (high - low)
        ax.set_ylim(low - pad, high + pad)


def plot_figure(items: Sequence[Curve | str], *, x_range: tuple[float, float] | None = None,
                points: int = POINTS) -> Figure:
    """A figure of the loss (top axes) and its derivative (bottom axes) of each curve, one line per curve.

    ``items`` are :class:`Curve` objects or loss names (at their default hyper-parameters); they must
    share a probe axis. Built without pyplot, so no GUI backend is touched.
    """
    from matplotlib.figure import Figure

    if not items:
        raise CommandError("nothing to plot")
    drawn = [item if isinstance(item, Curve) else Curve(info(item)) for item in items]
    records = [c.record for c in drawn]
    axis = common_axis(records)
    low, high = _x_range(records, x_range)
    x = np.linspace(low, high, points)
    values = [c.evaluate(x) for c in drawn]

    figure = Figure(figsize=FIGSIZE, layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    for curve, (y, slope) in zip(drawn, values, strict=True):
        top.plot(x, y, label=curve.label)
        bottom.plot(x, slope, label=curve.label)
    _robust_limits(top, [y for y, _ in values])
    _robust_limits(bottom, [s for _, s in values])
    names = ", ".join(dict.fromkeys(r.name for r in records))
    top.set_title(f"{names}: loss of one example")
    top.set_ylabel("loss ℓ")
    top.legend()
    bottom.set_ylabel("derivative dℓ/dx")
    bottom.set_xlabel(f"x = {axis}")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return figure


def _output(path: str | None, drawn: Sequence[Curve], *, force: bool) -> Path:
    names = "-".join(dict.fromkeys(c.record.name for c in drawn))
    out = Path(path) if path else Path(f"{PROG}-plot-{names}.png")
    if out.suffix.lower() not in FORMATS:
        raise CommandError(f"output {str(out)!r} must end in {', '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise CommandError(f"output folder {str(out.parent)!r} does not exist")
    if out.exists() and not force:
        raise CommandError(f"{out} exists; use --force to overwrite it or -o to write another file")
    return out


def _range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH, e.g. --range=-5,5; got {text!r}") from None
    if not low < high:
        raise argparse.ArgumentTypeError(f"LOW must be below HIGH; got {text!r}")
    return low, high


def _plot(args: argparse.Namespace) -> int:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError(INSTALL_HINT) from None
    drawn = curves(args.names, args.param, args.sweep)
    # Drawn before the output is checked: a mistake in the losses or their values is reported first.
    figure = plot_figure(drawn, x_range=args.range)
    out = _output(args.output, drawn, force=args.force)
    figure.savefig(out, dpi=DPI)
    print(f"wrote {out}")
    return 0


# --------------------------------------------------------------------------------------------------
# losskit recommend


def _recommend(args: argparse.Namespace) -> int:
    from .recommend import load_target, recommend

    print(recommend(load_target(args.data, args.target)))
    return 0


# --------------------------------------------------------------------------------------------------
# losskit compare, losskit tour (the lab: torch, scikit-learn, matplotlib and rich, imported there)

LAB_HINT = 'losskit {command} needs the lab extra (torch, scikit-learn, matplotlib, rich): pip install "losskit[lab]"'
QUICK_SEEDS, SEEDS = 2, 3


def _lab(command: str) -> None:
    try:
        import matplotlib  # noqa: F401
        import rich  # noqa: F401
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise CommandError(LAB_HINT.format(command=command)) from None


def _options(args: argparse.Namespace, **task_settings: Any) -> Options:
    from .lab.task import Options
    from .lab.train import device

    count = args.seeds if args.seeds is not None else QUICK_SEEDS if args.quick else SEEDS
    return Options(seeds=tuple(range(args.seed, args.seed + count)), epochs=args.epochs, quick=args.quick,
                   device=device(args.device), **task_settings)


def _compare(args: argparse.Namespace) -> int:
    _lab("compare")
    from .lab.compare import compare, task
    from .lab.data import user_data
    from .lab.report import text_summary

    task(args.task)  # an unknown task is the first thing to report
    if (args.data is None) != (args.target is None):
        raise CommandError("--data FILE and --target COLUMN go together")
    if args.task != "regression" and (args.outliers is not None or args.sweep is not None):
        raise CommandError("--outliers and --sweep apply to the regression task only")
    settings: dict[str, Any] = {}
    if args.outliers is not None:
        settings["outliers"] = args.outliers
    if args.sweep is not None:
        settings["sweep"] = args.sweep
    if args.data is not None:
        settings["data"] = user_data(args.data, args.target)
    losses = [name for name in split_values(args.losses) if name] if args.losses else None
    out = Path(args.out or f"{PROG}-compare-{args.task}")
    result, path = compare(args.task, losses, _options(args, **settings), out, force=args.force,
                           command=shlex.join([PROG, *args.argv]))
    print("\n".join(text_summary(result)))
    print(f"\nwrote {path}")
    return 0


def _tour(args: argparse.Namespace) -> int:
    _lab("tour")
    from .lab.report import text_summary
    from .lab.tour import tour

    results, path = tour(_options(args), Path(args.out), force=args.force, command=shlex.join([PROG, *args.argv]))
    for result in results:
        print("\n".join(text_summary(result)) + "\n")
    print(f"wrote {path}")
    return 0


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 0.9, e.g. 0.2; got {text!r}") from None
    if not 0.0 <= value <= 0.9:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 0.9, e.g. 0.2; got {text!r}")
    return value


def _shares(text: str) -> tuple[float, ...]:
    return tuple(sorted({_share(v) for v in split_values(text) if v}))


# --------------------------------------------------------------------------------------------------
# The parser


MAIN_EPILOG = f"""\
examples:
  {PROG} list --family regression
  {PROG} show huber
  {PROG} plot huber mae mse
  {PROG} plot focal --sweep gamma=0,0.5,1,2,5
  {PROG} recommend data.csv --target price
  {PROG} compare regression --outliers 0.2
  {PROG} tour --quick

'{PROG} COMMAND --help' describes each command."""

LIST_EPILOG = f"""\
examples:
  {PROG} list
  {PROG} list --family segmentation"""

SHOW_EPILOG = f"""\
NAME is a loss name or an alias, in any case, with - or _ ('Huber-Loss', 'l2', 'bce').

examples:
  {PROG} show huber
  {PROG} show bce"""

PLOT_EPILOG = f"""\
Each loss is drawn along its probe axis (the residual ŷ - y, a margin, a logit, a distance...), as
computed by the library: the loss of one example (top) and its derivative by central differences
(bottom). Losses on one figure must share that axis: '{PROG} show NAME' names it.

parameters:
  -p KEY=VALUE       sets KEY for every named loss that has that hyper-parameter
  -p NAME.KEY=VALUE  sets it for one loss (wins over KEY=VALUE)
  --sweep [NAME.]KEY=V1,V2,...
                     draws one curve per value (several sweeps: every combination);
                     a sweep wins over -p for the same key
  VALUE is read as an int, a float, true/false, none, a list [a,b,...], or else a string;
  the loss itself checks it.
  A loss is named once: compare its settings with --sweep, not by repeating its name.

output: -o FILE ending in .png, .svg or .pdf; by default {PROG}-plot-NAME-NAME.png in the
current folder. An existing file is kept unless --force is given.

examples:
  {PROG} plot huber mae mse
  {PROG} plot huber mse -p delta=0.5 -o robust.svg
  {PROG} plot huber --sweep delta=0.5,1,2
  {PROG} plot quantile --sweep q=0.1,0.5,0.9 --range=-2,2
  {PROG} plot focal binary_cross_entropy -p focal.alpha=none --sweep focal.gamma=0.5,2
  {PROG} plot categorical_cross_entropy --sweep 'class_weight=[1,1,1],[3,1,1]'"""

RECOMMEND_EPILOG = f"""\
DATA is a .csv/.tsv file with a header row, a .npy array, a .npz archive or a .parquet file
(needs pandas and pyarrow). COLUMN names the target: a column name, several comma-separated
names or a prefix ending in * for a one-hot or multi-label target (a column index for .npy, the
array's key for .npz); it may be left out where the file holds a single column or array. The
report infers the task from the target's values and names a loss, its output activation and the
hyper-parameters to start from, with the reasons and a runner-up.

examples:
  {PROG} recommend houses.csv --target price
  {PROG} recommend labels.csv --target 'class_*'
  {PROG} recommend y.npy"""


COMPARE_EPILOG = f"""\
TASK is one of: regression, binary, imbalanced, multiclass, segmentation, autoencoder, gan,
embedding. Each loss trains the same model (the same initial weights per seed) and is scored on
held-out data with metrics that do not depend on the loss; the report gives mean ± std over the
seeds, names the winner, says where the difference is within noise, and which claims of the seed
articles the numbers confirm. LOSSES are loss names or aliases the task can train (default: all).

--data FILE --target COLUMN trains the regression, binary or multiclass models on a CSV file:
its numeric columns are the features, COLUMN the target, and the losses are those '{PROG}
recommend' suggests plus the task's usual ones.

The folder DIR (default {PROG}-compare-TASK) receives report.html, results.json and the plots as PNG;
an existing report is kept unless --force is given.

examples:
  {PROG} compare regression --outliers 0.2 --sweep 0,0.1,0.2,0.3
  {PROG} compare imbalanced --losses bce,focal --seeds 5
  {PROG} compare multiclass --quick --out /tmp/mc
  {PROG} compare binary --data patients.csv --target sick"""

TOUR_EPILOG = f"""\
Runs every task of '{PROG} compare' with its default losses and writes one report with a section
per family into DIR (default {PROG}-tour). --quick trains shorter, on two seeds: a smoke run.

examples:
  {PROG} tour
  {PROG} tour --quick --out /tmp/tour --force"""


def _run_options(parser: argparse.ArgumentParser, default_out: str | None) -> None:
    """The options compare and tour share."""
    parser.add_argument("--quick", action="store_true", help="fewer epochs and seeds: a smoke run")
    parser.add_argument("--epochs", type=_count, metavar="N", help="epochs per run (default: the task's)")
    parser.add_argument("--seeds", type=_count, metavar="K",
                        help=f"runs per loss, seeds S..S+K-1 (default {SEEDS}, {QUICK_SEEDS} with --quick)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="the first seed; it also fixes the data split")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to train (default cpu)")
    parser.add_argument("-o", "--out", metavar="DIR", default=default_out,
                        help=f"the report's folder (default {default_out or PROG + '-compare-TASK'})")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite the report in DIR")


def _subparser(commands: Any, name: str, summary: str, epilog: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + ".", epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description="The loss functions of deep learning: what each is for, how it looks, which to use.",
        epilog=MAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True, parser_class=_Parser)

    listing = _subparser(commands, "list", "tabulate the catalogue of losses", LIST_EPILOG)
    listing.add_argument("--family", choices=FAMILIES, help="only the losses of this family")
    listing.set_defaults(parser=listing, handler=_list)

    show = _subparser(commands, "show", "print everything the catalogue knows about one loss", SHOW_EPILOG)
    show.add_argument("name", metavar="NAME", help="a loss name or alias")
    show.set_defaults(parser=show, handler=_show)

    plot = _subparser(commands, "plot", "draw losses and their derivatives, to compare them", PLOT_EPILOG)
    plot.add_argument("names", metavar="NAME", nargs="+", help="losses to draw on one figure")
    plot.add_argument("-p", "--param", action="append", default=[], metavar="[NAME.]KEY=VALUE",
                      help="set a hyper-parameter (repeatable)")
    plot.add_argument("--sweep", action="append", default=[], metavar="[NAME.]KEY=V1,V2,...",
                      help="one curve per value (repeatable)")
    plot.add_argument("--range", type=_range, metavar="LOW,HIGH",
                      help="the x range (default: the losses' natural range); write --range=-5,5")
    plot.add_argument("-o", "--output", metavar="FILE", help="the image to write: .png, .svg or .pdf")
    plot.add_argument("-f", "--force", action="store_true", help="overwrite FILE if it exists")
    plot.set_defaults(parser=plot, handler=_plot)

    recommend = _subparser(commands, "recommend", "suggest losses for the target of a data set", RECOMMEND_EPILOG)
    recommend.add_argument("data", metavar="DATA", help="the data file")
    recommend.add_argument("--target", metavar="COLUMN", help="the target column(s); optional for a single column")
    recommend.set_defaults(parser=recommend, handler=_recommend)

    compare = _subparser(commands, "compare", "train a model once per loss and seed, and report the difference",
                         COMPARE_EPILOG)
    compare.add_argument("task", metavar="TASK", help="the task: regression, binary, imbalanced, ...")
    compare.add_argument("--losses", metavar="A,B,...", help="the losses to compare (default: the task's)")
    compare.add_argument("--data", metavar="FILE", help="a CSV file to train on instead of the built-in data")
    compare.add_argument("--target", metavar="COLUMN", help="the target column of FILE")
    compare.add_argument("--outliers", type=_share, metavar="SHARE",
                         help="regression: share of corrupted training targets (default 0.1)")
    compare.add_argument("--sweep", type=_shares, metavar="S1,S2,...",
                         help="regression: outlier shares to sweep (default 0,0.1,0.2,0.3; none with --quick)")
    _run_options(compare, None)
    compare.set_defaults(parser=compare, handler=_compare)

    tour = _subparser(commands, "tour", "run every task of compare and write one report", TOUR_EPILOG)
    _run_options(tour, f"{PROG}-tour")
    tour.set_defaults(parser=tour, handler=_tour)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``losskit`` with ``argv`` (default: the process's arguments); the exit status is returned."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # as parse_args does, but sending the user to the command's own --help
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as done:  # --help, --version, or a usage error already printed
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded in the lab's reports
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (CommandError, ValueError, OSError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
