"""What an experiment leaves behind: ``report.html`` (self-contained), ``results.json`` and the plots as PNG.

The HTML embeds every plot as a base64 PNG and its style sheet inline: it opens offline, mailed or
archived on its own. ``results.json`` holds every number the report shows (and the per-seed values
behind each mean), so a script can check what a person reads.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..cli import CommandError, table
from .results import TaskResult

DPI = 100
REPORT, RESULTS = "report.html", "results.json"
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.best td { background: #eef7ee; font-weight: 600; }
.verdict { background: #f4f6fa; border-left: 4px solid #3b6fb6; padding: .5em 1em; }
.confirmed::before { content: "\\2714  "; color: #2a8a2a; }
.refuted::before { content: "\\2718  "; color: #b22; }
.meta { color: #555; }
img { max-width: 100%; display: block; margin: .8em 0; }
nav a { margin-right: 1em; }
"""


@dataclass(frozen=True)
class Appendix:
    """A section of plain numbers after the tasks' sections: a table and what it shows."""

    key: str
    title: str
    text: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numbers: Mapping[str, Any] = field(default_factory=dict)
    """The same numbers unformatted, for results.json."""

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "text": self.text, "header": list(self.header),
                "rows": [list(r) for r in self.rows], "numbers": dict(self.numbers)}

    def html(self) -> str:
        e = html.escape
        head = "".join(f"<th>{e(h)}</th>" for h in self.header)
        rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return (f"<section id=\"{e(self.key)}\"><h2>{e(self.title)}</h2><p>{e(self.text)}</p>"
                f"<table><tr>{head}</tr>{rows}</table></section>")


def prepare(out: Path, *, force: bool) -> None:
    """Make sure ``out`` can take a report before any training starts: a mistake costs nothing."""
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise CommandError(f"{out} exists; use --force to overwrite its report or --out to write elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    if force:
        # What the earlier report wrote, and only that: a stale plot must not pass for one of this run's,
        # and a file of the user's in the same folder is none of the lab's business.
        for old in [*(out / name for name in _figures(out / RESULTS)), out / REPORT, out / RESULTS]:
            old.unlink(missing_ok=True)


def _figures(results: Path) -> list[str]:
    """The plots an earlier ``results.json`` lists (none if there is no such file or it is not a report's)."""
    try:
        tasks = json.loads(results.read_text())["tasks"]
        return [Path(f).name for task in tasks.values() for f in task["figures"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _cell(result: TaskResult, outcome_label: str, key: str) -> str:
    metric = next(m for m in result.metrics if m.key == key)
    measured = result.outcome(outcome_label).metrics.get(key)
    return "—" if measured is None else measured.show(metric.fmt)  # a metric that does not apply to this model


def text_summary(result: TaskResult) -> list[str]:
    """The metric table, the verdict and the claims, for the terminal."""
    header = ("loss", *(m.name for m in result.metrics))
    rows = [(o.label, *(_cell(result, o.label, m.key) for m in result.metrics)) for o in result.outcomes]
    lines = [f"== {result.title}", *table(header, rows, flexible=range(1, len(header))), "",
             result.verdict.statement]
    lines += [f"  [{'confirmed' if c.confirmed else 'NOT confirmed'}] {c.claim}: {c.evidence}" for c in result.claims]
    return lines


def _section(result: TaskResult, images: Mapping[str, bytes]) -> str:
    e = html.escape
    best = result.verdict.winner
    head = "".join(f"<th>{e(m.name)}{' ↑' if m.higher_is_better else ' ↓'}</th>" for m in result.metrics)
    rows = "".join(
        f"<tr class=\"{'best' if o.label == best else 'other'}\"><td>{e(o.label)}</td>"
        + "".join(f"<td>{e(_cell(result, o.label, m.key))}</td>" for m in result.metrics) + "</tr>"
        for o in result.outcomes)
    claims = "".join(
        f"<li class=\"{'confirmed' if c.confirmed else 'refuted'}\">"
        f"<b>{'Confirmed' if c.confirmed else 'Not confirmed'}:</b> {e(c.claim)} "
        f"<span class=\"meta\">({e(c.source)})</span><br>{e(c.evidence)}</li>"
        for c in result.claims) or "<li>No claim of the seed articles is tested by the losses chosen.</li>"
    notes = "".join(f"<p class=\"meta\">{e(n)}</p>" for n in result.notes)
    figures = "".join(
        f"<img alt=\"{e(result.task)}: {e(name)}\" src=\"data:image/png;base64,{base64.b64encode(png).decode()}\">"
        for name, png in images.items())
    seeds = ", ".join(map(str, result.seeds))
    return (f"<section id=\"{e(result.task)}\"><h2>{e(result.title)}</h2>"
            f"<p class=\"meta\"><b>Data:</b> {e(result.data)}<br><b>Model:</b> {e(result.model)}; {result.epochs} "
            f"epochs; seeds {e(seeds)} (mean ± standard deviation over seeds)</p>"
            f"<table><tr><th>loss</th>{head}</tr>{rows}</table>"
            f"<p class=\"verdict\">{e(result.verdict.statement)}</p>"
            f"<h3>The seed articles' claims</h3><ul>{claims}</ul>{notes}{figures}</section>")


def _html(title: str, results: Sequence[TaskResult], images: Mapping[str, Mapping[str, bytes]],
          appendices: Sequence[Appendix], meta: str) -> str:
    e = html.escape
    nav = "".join(f"<a href=\"#{e(key)}\">{e(key)}</a>" for key in [*(r.task for r in results),
                                                                    *(a.key for a in appendices)])
    sections = "".join(_section(r, images[r.task]) for r in results) + "".join(a.html() for a in appendices)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1><p class=\"meta\">{e(meta)}</p>"
            f"<p>A difference counts as real when it exceeds twice its standard error over seeds (paired by seed); "
            f"otherwise the report calls it within noise. Metrics never use the loss being trained.</p>"
            f"<nav>{nav}</nav>{sections}</body></html>\n")


def write(out: Path, title: str, results: Sequence[TaskResult], run: Mapping[str, Any],
          appendices: Sequence[Appendix] = ()) -> Path:
    """Write the PNGs, ``results.json`` and ``report.html`` into ``out`` (see :func:`prepare`); the report's path."""
    images: dict[str, dict[str, bytes]] = {}
    for result in results:
        images[result.task] = {}
        for name, figure in result.figures.items():
            path = out / f"{result.task}-{name}.png"
            figure.savefig(path, dpi=DPI)
            images[result.task][name] = path.read_bytes()
    document = {"losskit": __version__, **run, "tasks": {r.task: r.to_dict() for r in results},
                "appendices": {a.key: a.to_dict() for a in appendices}}
    (out / RESULTS).write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    meta = f"losskit {__version__}; {run.get('command', '')}"
    report = out / REPORT
    report.write_text(_html(title, results, images, appendices, meta), encoding="utf-8")
    return report
