"""``losskit tour``: every built-in task with its default losses, one report with a section per family.

The report ends with :mod:`losskit.demo`'s check of the whole catalogue: the tasks train with a
selection of losses, the appendix scores every loss of the library on a fitted model against a
baseline, and lists identities between losses that must hold to rounding.
"""

from __future__ import annotations

from pathlib import Path

from .. import demo
from ..cli import PROG
from .compare import run_tasks
from .report import Appendix
from .results import TaskResult
from .task import Options
from .tasks import TASKS


def catalogue() -> list[Appendix]:
    """Every loss scored on fitted scikit-learn models and on a baseline, and the identities between losses."""
    found = demo.run()
    rows = tuple((r.task, r.loss, r.setting, r.model, f"{r.model_cost:.4f}", r.baseline, f"{r.baseline_cost:.4f}",
                  f"{r.model_cost / r.baseline_cost:.3f}") for r in found.rows)
    costs = Appendix(
        "catalogue", "Every loss of the library on fitted models",
        "Each loss scores a model fitted on a train split and the best baseline that ignores the features, on the "
        "test split (reduction='mean'). The ratio is the share of the baseline's cost the model still pays: below 1 "
        "for every loss, which is what a loss is for.",
        ("task", "loss", "input", "model", "model cost", "baseline", "baseline cost", "ratio"), rows,
        {"rows": [{"task": r.task, "loss": r.loss, "model_cost": r.model_cost, "baseline_cost": r.baseline_cost}
                  for r in found.rows]})
    identities = Appendix(
        "identities", "Identities between losses",
        "Each pair computes one number by two routes (two losses, or a loss and scikit-learn); they must agree to "
        "rounding.",
        ("one route", "value", "the other route", "value", "|difference|"),
        tuple((i.left, f"{i.left_value:+.10f}", i.right, f"{i.right_value:+.10f}",
               f"{abs(i.left_value - i.right_value):.1e}") for i in found.identities),
        {"differences": [abs(i.left_value - i.right_value) for i in found.identities]})
    return [costs, identities]


def tour(options: Options, out: Path, *, force: bool = False, progress: bool = True,
         command: str = "") -> tuple[list[TaskResult], Path]:
    """Run every task of :data:`~losskit.lab.tasks.TASKS` and write one report into ``out``."""
    title = f"{PROG} tour{' --quick' if options.quick else ''}"
    return run_tasks([(t, None) for t in TASKS.values()], options, out, force=force, title=title,
                     command=command or title, progress=progress, appendices=catalogue)
