"""The loss lab (``losskit compare``, ``losskit tour``): every task end to end in quick mode, the numbers it
reports, determinism, the report as HTML, and one-line errors.

The quick tour runs once for the module (about 40 s on two cores); the other runs are single tasks
cut to a few epochs.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("rich")

from losskit import cli
from losskit.lab.tasks import TASKS

PNG = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_error(result: tuple[int, str, str], *fragments: str) -> None:
    """Exit status 2, one ``losskit: error:`` line on stderr holding every fragment."""
    status, out, err = result
    assert status == 2, (status, out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("losskit: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def results(out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((out / "results.json").read_text())
    return document


def numbers(value: Any, path: str = "") -> dict[str, float]:
    """Every number of a JSON document by its path, leaving out wall-clock times (keys with 'seconds')."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() if "seconds" not in key
                for k, v in numbers(item, f"{path}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in numbers(item, f"{path}/{i}").items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {path: float(value)}
    return {}


def cli_losses() -> set[str]:
    import losskit

    return set(losskit.names())


def metric(task: dict[str, Any], label: str, key: str) -> float:
    outcome = next(o for o in task["outcomes"] if o["label"] == label)
    value: float = outcome["metrics"][key]["mean"]
    return value


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab") / "tour"
    assert cli.main(["tour", "--quick", "--out", str(out)]) == 0
    return out


# --------------------------------------------------------------------------------------------------
# The tour: every task, one report


def test_tour_writes_one_report_with_every_task(tour: Path) -> None:
    document = results(tour)
    assert list(document["tasks"]) == list(TASKS)
    assert document["settings"]["quick"] is True and document["settings"]["seeds"] == [0, 1]
    assert document["seconds"] < 120  # the quick tour is meant to take under a minute; leave room for a busy CI
    assert (tour / "report.html").stat().st_size > 10_000


def test_tour_ends_with_every_loss_of_the_library_on_fitted_models(tour: Path) -> None:
    appendices = results(tour)["appendices"]
    assert list(appendices) == ["catalogue", "identities"]
    rows = appendices["catalogue"]["numbers"]["rows"]
    assert {r["loss"] for r in rows} == cli_losses()
    assert all(0 < r["model_cost"] < r["baseline_cost"] for r in rows)
    assert max(appendices["identities"]["numbers"]["differences"]) < 1e-6


@pytest.mark.parametrize("name", list(TASKS))
def test_each_task_reports_every_metric_per_seed_a_verdict_and_its_figures(tour: Path, name: str) -> None:
    task = results(tour)["tasks"][name]
    assert task["seeds"] == [0, 1] and task["epochs"] >= 1
    keys = [m["key"] for m in task["metrics"]]
    assert task["primary_metric"] == keys[0]
    labels = [o["label"] for o in task["outcomes"]]
    assert len(labels) == len(set(labels)) >= 4
    for outcome in task["outcomes"]:
        assert outcome["loss"] in {*cli_losses(), "none"}
        assert task["primary_metric"] in outcome["metrics"]
        for summary in outcome["metrics"].values():
            assert len(summary["values"]) == 2 and all(math.isfinite(v) for v in summary["values"])
            assert summary["mean"] == pytest.approx(sum(summary["values"]) / 2)
        curve = outcome["curves"][task["primary_metric"]]
        assert len(curve) == 2 and len(curve[0]) == task["epochs"]
    assert all(any(k in o["metrics"] for o in task["outcomes"]) for k in keys)  # every column has a number
    assert task["verdict"]["winner"] in labels and task["verdict"]["statement"]
    assert task["claims"], "every task tests at least one claim of the seed articles"
    for claim in task["claims"]:
        assert isinstance(claim["confirmed"], bool) and claim["evidence"] and claim["source"].startswith("seed")
    assert task["figures"] and all((tour / f).read_bytes().startswith(PNG) for f in task["figures"])


def test_tour_numbers_are_sensible(tour: Path) -> None:
    tasks = results(tour)["tasks"]
    assert metric(tasks["binary"], "bce", "accuracy") > 0.9
    assert metric(tasks["imbalanced"], "bce(pos_weight=50)", "average_precision") > 3 / 51  # 3 x the positives' share
    assert metric(tasks["multiclass"], "sparse_categorical_ce (labels)", "accuracy") > 0.85
    assert metric(tasks["segmentation"], "dice", "iou") > 0.3
    # The same loss for two label encodings: the same model, to rounding.
    assert metric(tasks["multiclass"], "categorical_ce (one-hot)", "accuracy") == pytest.approx(
        metric(tasks["multiclass"], "sparse_categorical_ce (labels)", "accuracy"), abs=0.01)
    kl = [metric(tasks["autoencoder"], f"vae: bce + {b} * gaussian_kl", "kl") for b in ("0", "1", "4")]
    assert kl[0] > kl[1] > kl[2] >= 0  # a heavier KL term pulls the codes closer to the prior
    gan = tasks["gan"]
    assert all(0 <= o["metrics"]["modes_covered"]["mean"] <= 8 for o in gan["outcomes"])
    embedding = tasks["embedding"]
    untrained = embedding["extra"]["baselines"]["untrained_network"]["recall_at_1"]["mean"]
    assert metric(embedding, "triplet(all mining)", "recall_at_1") > untrained


# --------------------------------------------------------------------------------------------------
# The report


class Document(HTMLParser):
    """Checks that tags nest and close, and collects the sections and images."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.sections: list[str] = []
        self.images: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.sections.append(values.get("id") or "")
        if tag == "img":
            self.images.append(values.get("src") or "")
            if not values.get("alt"):
                self.errors.append("img without alt text")
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()


def test_report_is_valid_self_contained_html_with_every_image(tour: Path) -> None:
    text = (tour / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parsed = Document()
    parsed.feed(text)
    parsed.close()
    assert parsed.errors == [] and parsed.open == []
    tasks = results(tour)["tasks"]
    assert parsed.sections == [*tasks, *results(tour)["appendices"]]
    assert len(parsed.images) == sum(len(t["figures"]) for t in tasks.values())
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")  # embedded: nothing to fetch
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    embedded = {base64.b64decode(src.split(",", 1)[1]) for src in parsed.images}
    assert embedded == {(tour / f).read_bytes() for t in tasks.values() for f in t["figures"]}
    assert "http://" not in text and "https://" not in text
    for task in tasks.values():
        assert task["verdict"]["statement"].split(":")[0] in text.replace("&#x27;", "'")


CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell")


def test_report_renders_every_section_in_headless_chromium(tour: Path, tmp_path: Path) -> None:
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    if browser is None:
        pytest.skip(f"no headless Chromium on this machine (looked for {', '.join(CHROMIUM)} on PATH); "
                    "install Debian's chromium package to run this check")
    page = (tour / "report.html").resolve().as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    for name in [*TASKS, "catalogue", "identities"]:
        assert f'<section id="{name}">' in dom.stdout
    shot = tmp_path / "report.png"
    done = subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1000,12000", page],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.read_bytes().startswith(PNG), done.stderr
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    inked_rows = (pixels < 0.9).any(axis=(1, 2)).mean()
    assert inked_rows > 0.5, inked_rows  # text and plots down most of the page, not a blank one


# --------------------------------------------------------------------------------------------------
# compare: single tasks


def test_robust_losses_beat_mse_with_20_percent_outliers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "compare", "regression", "--quick", "--outliers", "0.2", "--out", str(tmp_path / "r"))
    assert status == 0 and "wrote" in out
    task = results(tmp_path / "r")["tasks"]["regression"]
    assert task["seeds"] == [0, 1]
    mse = next(o for o in task["outcomes"] if o["loss"] == "mse")
    for name in ("mae", "huber", "log_cosh"):
        robust = next(o for o in task["outcomes"] if o["loss"] == name)
        # on every seed, not just on average
        assert all(r < m for r, m in zip(robust["metrics"]["mae"]["values"], mse["metrics"]["mae"]["values"],
                                         strict=True)), name
    claims = {c["claim"]: c["confirmed"] for c in task["claims"]}
    assert claims["MAE is robust to outliers, where MSE is not"] is True


@pytest.mark.parametrize("argv", [
    ("regression", "--quick", "--seeds", "1", "--sweep", "0,0.2", "--epochs", "5"),
    ("gan", "--epochs", "1", "--seeds", "1"),
    ("embedding", "--epochs", "1", "--seeds", "1", "--losses", "contrastive,batch_triplet"),
])
def test_same_seed_same_numbers(argv: tuple[str, ...], tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert cli.main(["compare", *argv, "--out", str(first)]) == 0
    assert cli.main(["compare", *argv, "--out", str(second)]) == 0
    a, b = numbers(results(first)), numbers(results(second))
    assert a == b and len(a) > 20


def test_losses_picks_by_name_or_alias_and_runs_the_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "compare", "regression", "--losses", "l2,huber_loss", "--epochs", "3", "--seeds", "2",
                         "--sweep", "0,0.1,0.3", "--out", str(tmp_path / "r"))
    assert status == 0
    document = results(tmp_path / "r")
    assert document["command"].startswith("losskit compare regression --losses l2,huber_loss --epochs 3")
    task = document["tasks"]["regression"]
    assert [o["label"] for o in task["outcomes"]] == ["mse", "huber(delta=1)"]
    assert list(task["extra"]["sweep"]) == ["0", "0.1", "0.3"]
    assert "regression-sweep.png" in task["figures"]
    assert out.splitlines()[0].startswith("== Regression") and "clean-test MAE" in out


def test_compare_trains_on_a_users_csv_with_the_recommended_loss(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    sick = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.5, 300) > 1.2, "yes", "no")
    lines = ["age,dose,ward,sick", *(f"{a:.3f},{b:.3f},{'ab'[i % 2]},{s}" for i, ((a, b, _), s) in
                                     enumerate(zip(x, sick, strict=True)))]
    data = tmp_path / "patients.csv"
    data.write_text("\n".join(lines) + "\n")
    status, out, _ = run(capsys, "compare", "binary", "--data", str(data), "--target", "sick", "--epochs", "3",
                         "--seeds", "1", "--out", str(tmp_path / "r"))
    assert status == 0, out
    task = results(tmp_path / "r")["tasks"]["binary"]
    labels = [o["label"] for o in task["outcomes"]]
    assert any(label.endswith("[recommended]") for label in labels) and "hinge" in labels
    assert "patients.csv" in task["data"] and "'yes' positive" in task["data"]
    assert_error(run(capsys, "compare", "regression", "--data", str(data), "--target", "sick", "--out",
                     str(tmp_path / "s")), "binary target", "losskit compare binary")


@pytest.mark.parametrize(("task", "target"), [("regression", "price"), ("multiclass", "kind")])
def test_compare_reads_regression_and_multiclass_targets(task: str, target: str, tmp_path: Path) -> None:
    data = tmp_path / "houses.csv"
    data.write_text("rooms,area,price,kind\n" + "".join(
        f"{i % 7},{50 + (i * 37) % 90},{100 + 3.7 * i + (i % 5) ** 3},{'abc'[i % 3]}\n" for i in range(90)))
    out = tmp_path / "r"
    assert cli.main(["compare", task, "--data", str(data), "--target", target, "--epochs", "2", "--seeds", "1",
                     "--out", str(out)]) == 0
    found = results(out)["tasks"][task]
    assert any(o["label"].endswith("[recommended]") for o in found["outcomes"])
    assert any("rooms, area" in note for note in found["notes"])


# --------------------------------------------------------------------------------------------------
# Errors: one line, exit status 2, nothing trained or written


def test_errors_are_one_line_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "never")
    data = tmp_path / "houses.csv"
    data.write_text("rooms,price\n" + "".join(f"{i % 7},{100 + 3.7 * i}\n" for i in range(60)))
    assert_error(run(capsys, "compare", "regresion", "--out", out), "unknown task 'regresion'",
                 "did you mean 'regression'")
    assert_error(run(capsys, "compare", "regression", "--losses", "mse,hubr", "--out", out), "did you mean 'huber'")
    assert_error(run(capsys, "compare", "regression", "--losses", "focal", "--out", out),
                 "cannot train with focal", "mse, mae, huber, log_cosh")
    assert_error(run(capsys, "compare", "regression", "--data", str(data), "--target", "cost", "--out", out),
                 "no column 'cost'", "rooms, price")
    assert_error(run(capsys, "compare", "multiclass", "--data", str(data), "--target", "price", "--out", out),
                 "regression target", "not a multiclass one")
    assert_error(run(capsys, "compare", "gan", "--data", str(data), "--target", "price", "--out", out),
                 "--data works with the regression, binary, multiclass tasks")
    assert_error(run(capsys, "compare", "binary", "--data", str(data), "--out", out), "go together")
    assert_error(run(capsys, "compare", "binary", "--outliers", "0.2", "--out", out), "regression task only")
    assert_error(run(capsys, "compare", "regression", "--outliers", "2"), "between 0 and 0.9")
    assert_error(run(capsys, "compare", "regression", "--seeds", "0"), "at least 1")
    assert_error(run(capsys, "tour", "--epochs", "x"), "whole number")
    assert not (tmp_path / "never").exists()


def test_an_existing_report_is_kept_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    out.mkdir()
    earlier = {"tasks": {"gan": {"figures": ["gan-samples.png"]}}}
    (out / "results.json").write_text(json.dumps(earlier))
    argv = ("compare", "multiclass", "--epochs", "1", "--seeds", "1", "--losses", "sparse_cce", "--out", str(out))
    assert_error(run(capsys, *argv), "exists", "--force")
    assert json.loads((out / "results.json").read_text()) == earlier
    (out / "gan-samples.png").write_bytes(b"stale")
    (out / "mine.png").write_bytes(b"the user's")
    assert run(capsys, *argv, "--force")[0] == 0
    assert not (out / "gan-samples.png").exists()  # an earlier run's plot is not left to pass for this run's
    assert (out / "mine.png").read_bytes() == b"the user's"
    assert results(out)["tasks"]["multiclass"]["outcomes"][0]["loss"] == "sparse_categorical_cross_entropy"


def test_cuda_is_refused_where_absent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert_error(run(capsys, "compare", "binary", "--device", "cuda", "--out", str(tmp_path / "r")),
                 "CUDA is not available")


# --------------------------------------------------------------------------------------------------
# The pieces: verdicts and metrics on numbers worked out by hand


def outcome(label: str, values: list[float]) -> Any:
    from losskit.lab.results import Outcome, stat

    return Outcome(label, "mse", {}, {"m": stat(values)})


def test_a_win_is_clear_only_beyond_twice_the_paired_standard_error() -> None:
    from losskit.lab.results import Metric, difference, verdict

    lower = Metric("m", "error", higher_is_better=False)
    a, b = outcome("a", [1.0, 2.0, 3.0]), outcome("b", [1.5, 2.6, 3.4])  # paired: b - a = 0.5, 0.6, 0.4
    d = difference(a, b, lower)
    assert d.better and d.clear and d.mean == pytest.approx(-0.5) and d.se == pytest.approx(0.1 / math.sqrt(3))
    assert verdict([b, a], lower).statement.startswith("a wins on error")
    noisy = outcome("c", [1.5, 1.5, 3.1])  # c - a = 0.5, -0.5, 0.1: a is better on the mean, not beyond noise
    v = verdict([noisy, a], lower)
    assert v.winner == "a" and v.within_noise and "within noise" in v.statement and "No clear winner" in v.statement
    single = difference(outcome("a", [1.0]), outcome("b", [9.0]), lower)
    assert not single.clear and "one seed" in single.describe(lower)


def test_metrics_on_hand_made_cases() -> None:
    import numpy as np

    from losskit.lab import metrics

    masks = np.zeros((2, 1, 4, 4))
    masks[0, 0, :2, :2] = 1  # 4 pixels
    guess = np.zeros_like(masks)
    guess[0, 0, :2, :1] = 1  # 2 of them, nothing else; the second image is empty in both
    found = metrics.segmentation(guess, masks)
    assert found["iou"] == pytest.approx((0.5 + 1.0) / 2)
    assert found["dice_coefficient"] == pytest.approx((2 / 3 + 1.0) / 2)
    z = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [0.2, 0.0]])
    assert metrics.embedding(z, np.array([0, 0, 1, 1, 1]))["recall_at_1"] == pytest.approx(4 / 5)
    assert metrics.expected_calibration_error(np.array([0.1, 0.1, 0.9, 0.9]), np.array([0, 0, 1, 1])) == \
        pytest.approx(0.1)
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[0.05, 0.0]] * 98 + [[10.0, 0.1], [5.0, 5.0]])
    coverage = metrics.mode_coverage(samples, centres, radius=0.2, min_share=0.01)
    assert coverage == {"modes_covered": 2.0, "high_quality": pytest.approx(0.99)}
    assert metrics.recall_at_precision(np.array([0.9, 0.8, 0.7, 0.1]), np.array([1, 0, 1, 0])) == pytest.approx(1.0)
