"""The ``losskit`` command: its output, its plots read back as images, and one-line errors with exit status 2.

Most checks call ``main([...])`` in-process; a few run the real console script and ``python -m losskit``
in a subprocess (about a second each), so the installed entry points are covered too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losskit
from losskit import cli
from losskit.catalog import FAMILIES, catalog, info

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

COMMANDS = ("list", "show", "plot", "recommend", "compare", "tour")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_error(result: tuple[int, str, str], *fragments: str) -> None:
    """Exit status 2, nothing on stdout, one ``losskit: error:`` line on stderr holding every fragment."""
    status, out, err = result
    assert status == 2, (status, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("losskit: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def subprocess_run(cwd: Path, *argv: str, script: bool = False) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("losskit"))] if script else [sys.executable, "-m", "losskit"]
    return subprocess.run([*command, *argv], cwd=cwd, capture_output=True, text=True, timeout=120)


def lines_of(figure: object) -> list[list[Line2D]]:
    return [list(ax.get_lines()) for ax in figure.axes]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# The real entry points


def test_console_script_plots_a_png_with_one_curve_per_loss(tmp_path: Path) -> None:
    done = subprocess_run(tmp_path, "plot", "huber", "mse", script=True)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "losskit-plot-huber-mse.png"
    assert done.stdout.strip() == f"wrote {out.name}" and done.stderr == ""
    image = imread(out)
    assert image.shape[:2] == (700, 800)
    rgb = image[..., :3]
    ink = np.any(rgb < 0.9, axis=-1).mean()
    assert 0.01 < ink < 0.5, ink  # something is drawn, and it is not a filled rectangle
    # one colour of the default cycle per loss, and no third curve
    cycle = [matplotlib.colors.to_rgb(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]]
    drawn = [np.sum(np.all(np.abs(rgb - colour) < 0.02, axis=-1)) for colour in cycle[:3]]
    assert drawn[0] > 500 and drawn[1] > 500 and drawn[2] == 0, drawn


def test_python_m_losskit_shows_a_record_and_fails_cleanly(tmp_path: Path) -> None:
    done = subprocess_run(tmp_path, "show", "l2")
    assert done.returncode == 0 and done.stdout.startswith("mse (regression)"), done.stderr
    done = subprocess_run(tmp_path, "show", "hubr")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "did you mean 'huber'" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# list, show, help


def test_list_has_every_loss_in_columns_of_at_most_120_characters(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "list")
    assert status == 0 and err == ""
    # a row starts at column 0; its long cells continue on indented lines
    rows = {line.split()[1]: line for line in out.splitlines()[1:]
            if line[:1].strip() and line.split()[0] in FAMILIES}
    assert set(rows) == set(losskit.names())
    assert all(len(line) <= cli.TABLE_WIDTH for line in out.splitlines())
    assert out.splitlines()[0].split() == ["family", "loss", "measures", "use", "it", "for", "activation"]
    for record in catalog():
        assert rows[record.name].split()[0] == record.family
        assert rows[record.name].endswith(record.activation)
        assert record.measures.split()[0] in rows[record.name]


def test_list_one_family(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "list", "--family", "regression")
    assert status == 0
    rows = [line.split()[1] for line in out.splitlines()[1:] if line.startswith("regression")]
    assert rows == [r.name for r in catalog("regression")] and "mse" in rows
    assert "binary_cross_entropy" not in out
    assert_error(run(capsys, "list", "--family", "vision"), "invalid choice: 'vision'", "regression")


def test_table_wraps_long_cells_within_the_width() -> None:
    words = " ".join(["word"] * 20)
    lines = cli.table(("a", "b", "c"), [("x", words, "end"), ("x", "short", "end")], flexible=[1], width=40)
    assert all(len(line) <= 40 for line in lines)
    assert lines[1].split()[0] == "x" and lines[1].split()[-1] == "end"
    wrapped = [line[3:35].strip() for line in lines[1:-1]]  # column b of the first row, line by line
    assert " ".join(wrapped) == words and len(wrapped) > 1
    assert lines[-1].split() == ["x", "short", "end"]


def test_show_prints_the_record_under_any_alias(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "show", "huber")
    assert status == 0 and err == ""
    record = info("huber")
    assert out.startswith(str(record))
    assert record.formula_text in out and "delta=1.0" in out and "Example:" in out and "Alternatives:" in out
    assert "losskit plot huber" in out
    assert run(capsys, "show", "Huber-Loss") == (0, out, "")
    assert_error(run(capsys, "show", "hubr"), "unknown loss name 'hubr'", "did you mean 'huber'")


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help_with_examples(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, *([command] if command else []), "--help")
    assert status == 0 and "examples:" in out and f"losskit {command or 'plot'} " in out


def test_plot_help_documents_params_sweeps_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "plot", "--help")
    for text in ("--param", "NAME.KEY=VALUE", "--sweep", "--force", ".svg", "losskit-plot-"):
        assert text in out, text


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(run(capsys), "required: COMMAND")
    assert_error(run(capsys, "lst"), "invalid choice: 'lst'")
    assert_error(run(capsys, "plot", "mse", "--bogus"), "unrecognized arguments: --bogus", "losskit plot --help")
    assert_error(run(capsys, "plot"), "required: NAME")
    assert_error(run(capsys, "plot", "mse", "--range", "x"), "LOW,HIGH")
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"losskit {losskit.__version__}"


# --------------------------------------------------------------------------------------------------
# plot: the figure in-process


def test_plot_figure_has_one_line_per_curve_with_the_loss_and_its_derivative() -> None:
    figure = cli.plot_figure(["mse", "mae", "huber"])
    top, bottom = lines_of(figure)
    assert [line.get_label() for line in top] == ["mse", "mae", "huber"] == [line.get_label() for line in bottom]
    x, loss = top[0].get_data()
    _, slope = bottom[0].get_data()
    assert len(x) == cli.POINTS and (x[0], x[-1]) == info("mse").probe_range
    np.testing.assert_allclose(loss, np.asarray(x) ** 2)
    np.testing.assert_allclose(slope, 2 * np.asarray(x), atol=1e-2)  # one-sided at the two ends
    _, mae_slope = bottom[1].get_data()
    assert np.allclose(np.asarray(mae_slope)[np.asarray(x) < -0.01], -1)
    assert figure.axes[1].get_xlabel() == f"x = {info('mse').probe_axis}"


def test_sweeps_and_params_make_one_labelled_curve_each(capsys: pytest.CaptureFixture[str]) -> None:
    drawn = cli.curves(["huber", "mse"], params=["delta=2"], sweeps=[])
    assert [c.params for c in drawn] == [{"delta": 2}, {}]
    drawn = cli.curves(["huber", "quantile"], params=["delta=2", "huber.delta=0.5"], sweeps=["q=0.1,0.9"])
    assert [(c.record.name, c.params) for c in drawn] == [
        ("huber", {"delta": 0.5}), ("quantile", {"q": 0.1}), ("quantile", {"q": 0.9})]
    drawn = cli.curves(["huber"], params=["delta=3"], sweeps=["huber.delta=1,2"])  # a sweep wins over a param
    assert [c.label for c in drawn] == ["huber (delta=1)", "huber (delta=2)"]
    top, _ = lines_of(cli.plot_figure(drawn))
    assert [line.get_label() for line in top] == ["huber (delta=1)", "huber (delta=2)"]
    _, y1 = top[0].get_data()
    _, y2 = top[1].get_data()
    assert np.max(y2) > np.max(y1)  # the parameter reached the loss


def test_loss_and_logit_probes_share_an_axis_across_families() -> None:
    figure = cli.plot_figure(cli.curves(["focal", "bce"], sweeps=["focal.gamma=0,2"]))
    top, _ = lines_of(figure)
    assert len(top) == 3
    _, focal0 = top[0].get_data()
    _, bce = top[2].get_data()
    assert np.all(np.asarray(focal0) < np.asarray(bce))  # alpha = 0.25 by default


def test_parse_value() -> None:
    assert [cli.parse_value(t) for t in ("3", "-0.5", "inf", "False", "none", '"mean"', "sum", "[3, 1,1]")] == [
        3, -0.5, float("inf"), False, None, "mean", "sum", [3, 1, 1]]
    assert cli.split_values("[1,1,1], [3,1,1],2") == ["[1,1,1]", "[3,1,1]", "2"]
    drawn = cli.curves(["categorical_cross_entropy"], sweeps=["class_weight=[1,1,1],[3,1,1]"])
    assert [c.params for c in drawn] == [{"class_weight": [1, 1, 1]}, {"class_weight": [3, 1, 1]}]


# --------------------------------------------------------------------------------------------------
# plot: files


def test_plot_writes_the_default_file_and_keeps_it_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "plot", "mse") == (0, "wrote losskit-plot-mse.png\n", "")
    out = tmp_path / "losskit-plot-mse.png"
    out.write_bytes(b"mine")
    assert_error(run(capsys, "plot", "mse"), "losskit-plot-mse.png exists", "--force")
    assert out.read_bytes() == b"mine"
    assert run(capsys, "plot", "mse", "--force")[0] == 0
    assert imread(out).shape[:2] == (700, 800)


def test_plot_writes_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp.svg"
    assert run(capsys, "plot", "huber", "mae", "-p", "delta=0.5", "-o", str(out))[0] == 0
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "huber (delta=0.5)" in svg
    assert_error(run(capsys, "plot", "mse", "-o", str(out)), "exists")
    assert_error(run(capsys, "plot", "mse", "-o", str(tmp_path / "a.jpg")), ".png, .svg, .pdf")
    assert_error(run(capsys, "plot", "mse", "-o", str(tmp_path / "no" / "a.png")), "does not exist")


def test_plot_errors_are_one_line_and_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_error(run(capsys, "plot", "huber", "hubr"), "did you mean 'huber'")
    assert_error(run(capsys, "plot", "huber", "-p", "delta=-1"), "huber (delta=-1)", "delta")
    assert_error(run(capsys, "plot", "huber", "-p", "delta=abc"), "delta")
    assert_error(run(capsys, "plot", "huber", "mse", "-p", "gamma=2"), "no loss to plot has a parameter 'gamma'")
    assert_error(run(capsys, "plot", "huber", "-p", "huber.q=2"), "huber has no parameter 'q'", "delta")
    assert_error(run(capsys, "plot", "huber", "-p", "quantile.q=2"), "quantile is not among the losses to plot")
    assert_error(run(capsys, "plot", "huber", "-p", "delta"), "expected [NAME.]KEY=VALUE")
    assert_error(run(capsys, "plot", "huber", "--sweep", "delta=,"), "no values")
    assert_error(run(capsys, "plot", "huber", "l1", "Huber"), "huber is named twice", "--sweep")
    assert_error(run(capsys, "plot", "bce", "-p", "from_logits=false"), "from_logits is fixed by the probe")
    assert_error(run(capsys, "plot", "huber", "bce"), "different things", "huber: residual", "binary_cross_entropy:")
    assert list(tmp_path.iterdir()) == []


def test_plot_without_matplotlib_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert_error(run(capsys, "plot", "mse"), "needs matplotlib", "losskit[lab]")
    assert run(capsys, "show", "mse")[0] == 0  # the other commands do not need it


# --------------------------------------------------------------------------------------------------
# recommend: wired to losskit.recommend (tested end-to-end with that module)


def test_recommend_prints_the_report_or_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recommend = pytest.importorskip("losskit.recommend")
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 3 * 1.5 + 0.1 * i}\n" for i in range(20)))
    expected = str(recommend.recommend(recommend.load_target(str(data), "y")))
    assert run(capsys, "recommend", str(data), "--target", "y") == (0, expected + "\n", "")
    assert_error(run(capsys, "recommend", str(data), "--target", "z"), "no column 'z'")
    assert_error(run(capsys, "recommend", str(tmp_path / "missing.csv"), "--target", "y"))
