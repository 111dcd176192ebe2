"""``losskit tour``: every built-in task with its default losses, one report with a section per family."""

from __future__ import annotations

from pathlib import Path

from ..cli import PROG
from .compare import run_tasks
from .results import TaskResult
from .task import Options
from .tasks import TASKS


def tour(options: Options, out: Path, *, force: bool = False, progress: bool = True) -> tuple[list[TaskResult], Path]:
    """Run every task of :data:`~losskit.lab.tasks.TASKS` and write one report into ``out``."""
    return run_tasks([(t, None) for t in TASKS.values()], options, out, force=force,
                     title=f"{PROG} tour{' --quick' if options.quick else ''}", progress=progress)
