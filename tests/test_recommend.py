"""`losskit.recommend`: the loss it picks for targets with known answers, the files it reads, its errors."""

from __future__ import annotations

import inspect
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn import datasets

import losskit
from losskit.catalog import ACTIVATIONS
from losskit.recommend import (
    MissingDependencyError,
    Recommendation,
    RunnerUp,
    load_target,
    recommend,
)

SEED = 0
SPARSE = {"sparse_categorical_cross_entropy", "sparse_categorical_focal", "multiclass_hinge"}
CATEGORICAL = {"categorical_cross_entropy", "categorical_focal", "kl_divergence"}


# --------------------------------------------------------------------------------------------------
# Targets with known answers.


def diabetes(outliers: bool) -> np.ndarray:
    y = datasets.load_diabetes().target.copy()
    if outliers:  # 5% of the values, ten times too large: a unit error in the data entry, say
        rng = np.random.default_rng(SEED)
        y[rng.choice(len(y), len(y) // 20, replace=False)] *= 10
    return y


def imbalanced(ratio: float, n: int = 2550) -> np.ndarray:
    # flip_y=0: no label noise, so the class counts are exactly the weights'.
    _, y = datasets.make_classification(n_samples=n, weights=[ratio / (ratio + 1)], flip_y=0, random_state=SEED)
    return np.asarray(y)


def digits_subsample(rare: int) -> np.ndarray:
    """Digit labels with classes 0 and 1 cut down to ``rare`` examples each: an imbalanced multi-class target."""
    y = datasets.load_digits().target
    keep = np.concatenate([np.flatnonzero(y == c)[:rare] if c < 2 else np.flatnonzero(y == c) for c in range(10)])
    return np.asarray(y[np.sort(keep)])


def multilabel(rare: bool) -> np.ndarray:
    _, y = datasets.make_multilabel_classification(n_samples=400, n_classes=6, n_labels=1 if rare else 2,
                                                   random_state=SEED)
    return np.asarray(y)


CASES: dict[str, Callable[[], Any]] = {
    "diabetes": lambda: diabetes(outliers=False),
    "diabetes_outliers": lambda: diabetes(outliers=True),
    "breast_cancer": lambda: datasets.load_breast_cancer().target,
    "imbalanced_1_50": lambda: imbalanced(50),
    "imbalanced_1_5": lambda: imbalanced(5, n=1200),
    "digits": lambda: datasets.load_digits().target,
    "digits_one_hot": lambda: np.eye(10)[datasets.load_digits().target],
    "digits_ratio_6": lambda: digits_subsample(30),
    "digits_ratio_18": lambda: digits_subsample(10),
    "digits_one_hot_ratio_18": lambda: np.eye(10)[digits_subsample(10)],
    "iris_names": lambda: datasets.load_iris().target_names[datasets.load_iris().target],
    "multilabel": lambda: multilabel(rare=False),
    "multilabel_rare": lambda: multilabel(rare=True),
    "soft_labels": lambda: np.random.default_rng(SEED).dirichlet(np.ones(4), size=50),
    "signed": lambda: np.where(datasets.load_breast_cancer().target == 1, 1, -1),
    "booleans": lambda: datasets.load_breast_cancer().target == 0,
}


@pytest.fixture(scope="module")
def results() -> dict[str, Recommendation]:
    return {name: recommend(make()) for name, make in CASES.items()}


def test_diabetes_with_outliers_gets_huber_with_the_mad_based_delta(results: dict[str, Recommendation]) -> None:
    r, y = results["diabetes_outliers"], diabetes(outliers=True)
    assert (r.task, r.loss, r.activation) == ("regression", "huber", "identity")
    # scipy's normal-consistent MAD (1 / Phi^-1(3/4) = 1.482602...) times Huber's 1.345.
    expected = 1.345 * stats.median_abs_deviation(y, scale="normal")
    assert r.kwargs()["delta"] > 0
    assert math.isclose(r.kwargs()["delta"], expected, rel_tol=1e-4)
    assert r.measured["outlier_share"] == pytest.approx(21 / 442)
    assert r.runner_up.loss == "mae"
    assert any("4.8%" in reason for reason in r.reasons)


def test_diabetes_as_is_gets_mse(results: dict[str, Recommendation]) -> None:
    r = results["diabetes"]
    assert (r.task, r.loss, r.activation, r.params) == ("regression", "mse", "identity", ())
    assert r.measured["outlier_share"] == 0
    assert r.measured["skewness"] == pytest.approx(stats.skew(diabetes(outliers=False)))
    assert r.runner_up.loss == "huber" and r.runner_up.kwargs()["delta"] > 0


def test_breast_cancer_gets_plain_binary_cross_entropy(results: dict[str, Recommendation]) -> None:
    r = results["breast_cancer"]
    assert (r.task, r.loss, r.activation) == ("binary", "binary_cross_entropy", "sigmoid")
    assert r.kwargs() == {"from_logits": True}
    assert r.classes == (0, 1) and r.counts == (212, 357)
    assert r.measured["imbalance_ratio"] == pytest.approx(357 / 212)


def test_imbalance_1_to_50_gets_focal_and_weighted_bce_as_runner_up(results: dict[str, Recommendation]) -> None:
    r = results["imbalanced_1_50"]
    negatives, positives = r.counts
    assert negatives / positives == pytest.approx(50, rel=0.05)
    assert (r.loss, r.activation) == ("focal", "sigmoid")
    assert r.kwargs()["gamma"] == 2
    assert r.kwargs()["alpha"] == pytest.approx(negatives / (negatives + positives))
    assert r.runner_up.loss == "binary_cross_entropy"
    assert r.runner_up.kwargs()["pos_weight"] == pytest.approx(50, rel=0.05)


def test_moderate_imbalance_gets_bce_with_pos_weight(results: dict[str, Recommendation]) -> None:
    r = results["imbalanced_1_5"]
    assert r.loss == "binary_cross_entropy"
    assert r.kwargs()["pos_weight"] == pytest.approx(5, rel=0.05)
    assert r.runner_up.loss == "focal"


def test_digits_labels_get_sparse_ce_and_one_hot_gets_categorical_ce(results: dict[str, Recommendation]) -> None:
    sparse, one_hot = results["digits"], results["digits_one_hot"]
    assert (sparse.task, sparse.loss, sparse.activation) == ("multi-class", "sparse_categorical_cross_entropy",
                                                             "softmax")
    assert (one_hot.task, one_hot.loss, one_hot.activation) == ("multi-class", "categorical_cross_entropy", "softmax")
    assert sparse.classes == tuple(range(10)) and sparse.counts == one_hot.counts
    assert "class_weight" not in sparse.kwargs()


def test_imbalanced_multiclass_gets_class_weights_then_focal(results: dict[str, Recommendation]) -> None:
    moderate, severe, severe_one_hot = (results[k] for k in ("digits_ratio_6", "digits_ratio_18",
                                                            "digits_one_hot_ratio_18"))
    assert moderate.loss == "sparse_categorical_cross_entropy"
    weights, counts = moderate.kwargs()["class_weight"], np.array(moderate.counts)
    np.testing.assert_allclose(weights, counts.sum() / (10 * counts))  # inverse frequency, mean weight 1 per example
    assert np.sum(weights * counts) == pytest.approx(counts.sum())
    assert severe.loss == "sparse_categorical_focal" and severe.runner_up.loss == "sparse_categorical_cross_entropy"
    assert severe_one_hot.loss == "categorical_focal" and severe_one_hot.runner_up.loss == "categorical_cross_entropy"


def test_string_labels_are_classes_in_sorted_order(results: dict[str, Recommendation]) -> None:
    r = results["iris_names"]
    assert (r.task, r.loss) == ("multi-class", "sparse_categorical_cross_entropy")
    assert r.classes == ("setosa", "versicolor", "virginica") and r.counts == (50, 50, 50)
    assert "'setosa' -> 0" in r.encoding


def test_multilabel_gets_bce_per_label(results: dict[str, Recommendation]) -> None:
    r, rare = results["multilabel"], results["multilabel_rare"]
    assert (r.task, r.loss, r.activation) == ("multi-label", "binary_cross_entropy", "sigmoid")
    y = multilabel(rare=True)
    assert rare.loss == "binary_cross_entropy"
    positives = y.sum(axis=0)
    np.testing.assert_allclose(rare.kwargs()["pos_weight"], (len(y) - positives) / positives)


def test_other_binary_encodings(results: dict[str, Recommendation]) -> None:
    signed, booleans = results["signed"], results["booleans"]
    assert signed.loss == booleans.loss == "binary_cross_entropy"
    assert signed.classes == (-1, 1) and "map -1 -> 0" in signed.encoding
    assert booleans.classes == (False, True) and booleans.counts == (357, 212)
    spam = recommend(["spam"] * 10 + ["ham"] * 90)
    # Strings: the minority is the positive class, so pos_weight weighs it up.
    assert spam.classes == ("ham", "spam") and spam.kwargs()["pos_weight"] == 9


def test_soft_labels_get_categorical_ce(results: dict[str, Recommendation]) -> None:
    r = results["soft_labels"]
    assert (r.task, r.loss, r.runner_up.loss) == ("multi-class", "categorical_cross_entropy", "kl_divergence")


def test_integers_are_classes_only_when_few_or_coded_0_to_c(results: dict[str, Recommendation]) -> None:
    rng = np.random.default_rng(SEED)
    assert recommend(rng.integers(1, 6, size=300)).task == "multi-class"  # ratings 1..5
    assert "quantities" in " ".join(recommend(rng.integers(1, 6, size=300)).reasons)
    assert recommend(rng.integers(0, 100, size=20000)).task == "multi-class"  # 0..99 with 100 <= sqrt(20000)
    assert recommend(rng.integers(0, 100, size=5000)).task == "regression"  # 100 > sqrt(5000)
    assert results["diabetes"].encoding == "integer values"  # 214 distinct values: a quantity


def test_mad_of_zero_falls_back_to_the_mean_absolute_deviation() -> None:
    y = np.zeros(100)
    y[:10] = np.random.default_rng(SEED).normal(10, 3, size=10)  # over half the values are 0: MAD = 0
    r = recommend(y)
    assert r.loss == "huber"
    assert r.kwargs()["delta"] == pytest.approx(1.345 * 1.2533 * np.mean(np.abs(y)))


def test_skewed_target_suggests_a_log(results: dict[str, Recommendation]) -> None:
    r = recommend(np.random.default_rng(SEED).lognormal(sigma=1.0, size=1000))
    assert r.loss == "huber" and r.measured["skewness"] > 1
    assert any("log(y)" in reason for reason in r.reasons)


# --------------------------------------------------------------------------------------------------
# Every recommendation is a registered loss that runs with its parameters.


def _inputs(r: Recommendation, runner: RunnerUp | Recommendation) -> tuple[np.ndarray, np.ndarray]:
    """A tiny batch of model outputs and targets in the format ``runner.loss`` takes for ``r``'s task."""
    rng = np.random.default_rng(SEED)
    columns = len(r.classes) or int(r.measured.get("classes", 1))
    n = 6
    if r.task == "regression":
        return rng.normal(size=n), rng.normal(size=n)
    if r.task == "binary":
        scores, target = rng.normal(size=n), np.arange(n) % 2
    elif r.task == "multi-label":
        scores, target = rng.normal(size=(n, columns)), (rng.random((n, columns)) < 0.5).astype(np.float64)
    else:
        labels = np.arange(n) % columns
        scores = rng.normal(size=(n, columns))
        target = labels if runner.loss in SPARSE else np.eye(columns)[labels]
    if runner.kwargs().get("from_logits") or runner.activation == "identity":
        return scores, target
    if runner.activation == "sigmoid":
        return 1 / (1 + np.exp(-scores)), target
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True), target


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_choice_is_a_registered_loss_that_runs_with_its_parameters(
    case: str, results: dict[str, Recommendation]
) -> None:
    r = results[case]
    for choice in (r, r.runner_up):
        assert choice.loss in losskit.names()
        assert choice.activation in ACTIVATIONS
        fn = losskit.get(choice.loss)
        keywords = {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}
        assert set(choice.kwargs()) <= keywords - {"weight", "reduction"}
        value = fn(*_inputs(r, choice), **choice.kwargs())
        assert np.isfinite(value) and value >= 0, (case, choice.loss)
        assert all(p.reason for p in choice.params)


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_and_dict(case: str, results: dict[str, Recommendation]) -> None:
    r = results[case]
    text = str(r)
    assert f"Recommended loss: {r.loss}" in text and f"Runner-up: {r.runner_up.loss}" in text
    assert all(reason in text for reason in r.reasons)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["loss"] == r.loss and d["runner_up"]["loss"] == r.runner_up.loss
    assert set(d["params"]) == {p.name for p in r.params}


def test_the_activation_is_the_catalogue_records_where_there_is_one(results: dict[str, Recommendation]) -> None:
    for r in results.values():
        for choice in (r, r.runner_up):
            try:
                record = losskit.info(choice.loss)
            except KeyError:  # records are still being written for some losses
                continue
            assert choice.activation == record.activation


# --------------------------------------------------------------------------------------------------
# What recommend() refuses.


@pytest.mark.parametrize(("y", "message"), [
    ([1.0, np.nan, 3.0, np.nan], r"2 NaN values \(at indices 1, 3\)"),
    ([1.0, np.inf, 3.0], "1 infinite value "),
    ([4, 4, 4], "single value, 4, in all 3 examples"),
    (np.ones((5, 3)) / 3, "single value"),
    ([], "empty"),
    (np.zeros((0, 3)), "empty"),
    (np.zeros((2, 3, 4)), "1-D or 2-D.*3-D"),
    (3.0, "scalar"),
    (np.array([1 + 1j, 2 + 0j]), "dtype complex128"),
    (np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"), "dtype datetime64"),
    (np.array([1, "a", 2.0], dtype=object), "types float, int, str"),
    (np.array([1.0, None, 2.0], dtype=object), "1 missing value "),
    (["a", "", "b"], "1 empty string "),
    (np.random.default_rng(SEED).normal(size=(10, 3)), "multi-output regression"),
    ([f"id{i}" for i in range(50)], "identifier"),
])
def test_recommend_refuses_with_a_clear_message(y: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recommend(y)


# --------------------------------------------------------------------------------------------------
# Files.


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    lines = [",".join(header), *(",".join(str(v) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def diabetes_csv(tmp_path: Path) -> Path:
    data = datasets.load_diabetes()
    header = [*data.feature_names, "progress"]
    rows = [[*x, t] for x, t in zip(data.data.round(5).tolist(), data.target.tolist(), strict=True)]
    return _write_csv(tmp_path / "diabetes.csv", header, rows)


def test_csv_by_column_name(diabetes_csv: Path) -> None:
    y = load_target(str(diabetes_csv), "progress")
    np.testing.assert_array_equal(y, datasets.load_diabetes().target)
    assert recommend(y).loss == "mse"


def test_csv_string_labels(tmp_path: Path) -> None:
    iris = datasets.load_iris()
    path = _write_csv(tmp_path / "iris.csv", ["petal", "species"],
                      [[x, iris.target_names[t]] for x, t in zip(iris.data[:, 2], iris.target, strict=True)])
    r = recommend(load_target(str(path), "species"))
    assert r.loss == "sparse_categorical_cross_entropy" and r.classes == tuple(iris.target_names)


def test_csv_one_hot_columns_by_list_and_by_prefix(tmp_path: Path) -> None:
    labels = datasets.load_digits().target
    one_hot = np.eye(10, dtype=np.int64)[labels]
    header = ["pixel_sum", *(f"digit_{c}" for c in range(10))]
    path = _write_csv(tmp_path / "digits.csv", header, [[i, *row] for i, row in enumerate(one_hot.tolist())])
    listed = load_target(str(path), ",".join(f"digit_{c}" for c in range(10)))
    by_prefix = load_target(str(path), "digit_*")
    np.testing.assert_array_equal(listed, one_hot)
    np.testing.assert_array_equal(by_prefix, one_hot)
    assert recommend(listed).loss == "categorical_cross_entropy"


def test_tsv(tmp_path: Path) -> None:
    path = tmp_path / "y.tsv"
    path.write_text("a\tlabel\n1\tyes\n2\tno\n3\tyes\n")
    assert load_target(str(path), "label").tolist() == ["yes", "no", "yes"]


def test_npy_whole_array_and_a_column(tmp_path: Path) -> None:
    target = datasets.load_breast_cancer().target
    np.save(tmp_path / "y.npy", target)
    np.testing.assert_array_equal(load_target(str(tmp_path / "y.npy"), None), target)
    y = multilabel(rare=False)
    np.save(tmp_path / "labels.npy", y)
    assert recommend(load_target(str(tmp_path / "labels.npy"))).task == "multi-label"
    np.testing.assert_array_equal(load_target(str(tmp_path / "labels.npy"), "2"), y[:, 2])
    np.testing.assert_array_equal(load_target(str(tmp_path / "labels.npy"), "0,1"), y[:, :2])
    with pytest.raises(ValueError, match=r"out of range: .* 6 columns"):
        load_target(str(tmp_path / "labels.npy"), "9")
    with pytest.raises(ValueError, match="2-D array"):
        load_target(str(tmp_path / "y.npy"), "0")


def test_npz_by_key(tmp_path: Path) -> None:
    digits = datasets.load_digits()
    np.savez(tmp_path / "digits.npz", x=digits.data, y=digits.target)
    y = load_target(str(tmp_path / "digits.npz"), "y")
    assert recommend(y).loss == "sparse_categorical_cross_entropy"
    with pytest.raises(ValueError, match=r"no array 'target' .*available: x, y"):
        load_target(str(tmp_path / "digits.npz"), "target")
    with pytest.raises(ValueError, match=r"holds 2 arrays: name the target \(available: x, y\)"):
        load_target(str(tmp_path / "digits.npz"), None)


def test_parquet(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pandas.DataFrame({"x": np.arange(569.0), "malignant": datasets.load_breast_cancer().target == 0,
                              "name": np.where(datasets.load_breast_cancer().target == 0, "bad", "good")})
    frame.to_parquet(tmp_path / "cancer.parquet")
    assert recommend(load_target(str(tmp_path / "cancer.parquet"), "malignant")).loss == "binary_cross_entropy"
    assert recommend(load_target(str(tmp_path / "cancer.parquet"), "name")).classes == ("good", "bad")
    frame.loc[3, "x"] = np.nan
    frame.to_parquet(tmp_path / "gaps.parquet")
    with pytest.raises(ValueError, match=r"'x' .* 1 missing value \(in row 4\)"):
        load_target(str(tmp_path / "gaps.parquet"), "x")


def test_parquet_without_pandas_names_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def without_pandas(name: str, package: str | None = None) -> Any:
        if name in ("pandas", "pyarrow"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_pandas)
    (tmp_path / "y.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(MissingDependencyError, match="pip install pandas pyarrow"):
        load_target(str(tmp_path / "y.parquet"), "y")
    assert issubclass(MissingDependencyError, ValueError) and issubclass(MissingDependencyError, ImportError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no such file: .*nothing.csv"):
        load_target(str(tmp_path / "nothing.csv"), "y")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", "", r"empty \(0 bytes\)"),
    ("blank.csv", "\n\n", "no rows: an empty file"),
    ("header.csv", "a,y\n", "a header but no data rows"),
    ("numbers.csv", "1,2\n3,4\n", "no header row"),
    ("ragged.csv", "a,y\n1,2\n3\n", "line 3 .* 1 fields, the header has 2"),
    ("latin1.csv", b"a,y\n1,caf\xe9\n", "not UTF-8"),
    ("empty.npy", "", r"empty \(0 bytes\)"),
    ("junk.npy", "not numpy", "not a valid NumPy file"),
    ("junk.npz", "not a zip", "not a valid NumPy file"),
    ("data.xlsx", "x", r"unsupported file type '.xlsx' .*\.csv, \.tsv, \.npy, \.npz, \.parquet"),
    ("data", "x", r"unsupported file type '\(no extension\)'"),
])
def test_unreadable_files(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_target(str(path), "y")


def test_unknown_column_lists_the_available_ones(diabetes_csv: Path) -> None:
    with pytest.raises(ValueError, match=r"no column 'progres' .*did you mean 'progress'.*available: age, sex, bmi"):
        load_target(str(diabetes_csv), "progres")
    with pytest.raises(ValueError, match=r"11 columns: name the target \(available: age, sex"):
        load_target(str(diabetes_csv), None)


def test_missing_cells_say_how_many_and_where(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "gaps.csv", ["x", "y"], [[1, 2.5], [2, ""], [3, "NaN"], [4, 1.0], [5, "NA"]])
    with pytest.raises(ValueError, match=r"column 'y' .* 3 missing cells \(empty or NaN\) on lines 3, 4, 6"):
        load_target(str(path), "y")
    np.save(tmp_path / "gaps.npy", np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match=r"1 NaN value \(at index 1\)"):
        load_target(str(tmp_path / "gaps.npy"))


def test_single_valued_target_in_a_file(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "same.csv", ["x", "y"], [[i, 7] for i in range(5)])
    with pytest.raises(ValueError, match=r"column 'y'\) has a single value, 7, in all 5 examples"):
        load_target(str(path), "y")


def test_text_in_a_several_column_target(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "mixed.csv", ["a", "b"], [[0, "x"], [1, "y"]])
    with pytest.raises(ValueError, match=r"'b' .* hold text"):
        load_target(str(path), "a,b")


# --------------------------------------------------------------------------------------------------
# The command line: `losskit recommend DATA --target COLUMN`.


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "losskit", "recommend", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_cli_prints_the_report(diabetes_csv: Path) -> None:
    done = _cli(str(diabetes_csv), "--target", "progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(recommend(load_target(str(diabetes_csv), "progress")))


@pytest.mark.parametrize(("args", "message"), [
    (["missing.csv", "--target", "y"], "no such file"),
    (["DIABETES", "--target", "nope"], "no column 'nope'"),
])
def test_cli_errors_are_one_line_with_status_2(diabetes_csv: Path, args: list[str], message: str) -> None:
    args = [str(diabetes_csv) if a == "DIABETES" else str(diabetes_csv.parent / a) if a.endswith(".csv") else a
            for a in args]
    done = _cli(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
