"""``losskit compare TASK``: train one task's model once per loss and seed, and report what happened."""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..cli import PROG, CommandError
from . import report
from .progress import Bars
from .results import TaskResult
from .task import Options, Task, select
from .tasks import TASKS
from .train import deterministic


def task(name: str) -> Task:
    """The built-in task called ``name``; an unknown name is a one-line error with a guess."""
    if name in TASKS:
        return TASKS[name]
    close = difflib.get_close_matches(name, TASKS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise CommandError(f"unknown task {name!r}{hint} (tasks: {', '.join(TASKS)})")


def settings(options: Options) -> dict[str, Any]:
    """The options as plain values for results.json."""
    # Field by field: dataclasses.asdict would deep-copy the user's data only for it to be replaced here.
    plain = {f.name: getattr(options, f.name) for f in fields(options)}
    plain |= {"device": str(options.device), "seeds": list(options.seeds)}
    plain["data"] = None if options.data is None else {"path": options.data.path, "target": options.data.target}
    return plain


def run_tasks(tasks: Sequence[tuple[Task, Sequence[str] | None]], options: Options, out: Path, *, force: bool,
              title: str, command: str, progress: bool = True,
              appendices: Callable[[], Sequence[report.Appendix]] | None = None) -> tuple[list[TaskResult], Path]:
    """Run each task with its chosen losses (None: the task's defaults) and write one report into ``out``,
    with the ``appendices`` (computed after the tasks) at its end."""
    chosen = [(t, select(t, losses, options)) for t, losses in tasks]  # bad names fail before any training
    report.prepare(out, force=force)
    start = time.perf_counter()
    with deterministic(), Bars(enabled=progress) as bars:
        results = [t.run(options, variants, bars) for t, variants in chosen]
    extra = appendices() if appendices is not None else ()
    seconds = time.perf_counter() - start
    path = report.write(out, title, results, {"command": command, "settings": settings(options), "seconds": seconds},
                        extra)
    return results, path


def compare(name: str, losses: Sequence[str] | None, options: Options, out: Path, *, force: bool = False,
            progress: bool = True, command: str = "") -> tuple[TaskResult, Path]:
    """Train task ``name`` with ``losses`` (default: all of the task's) and write its report into ``out``.

    ``command`` is the command line to record in the report (default: ``losskit compare NAME``)."""
    chosen = task(name)
    if options.data is not None and not chosen.takes_data:
        data_tasks = ", ".join(t.name for t in TASKS.values() if t.takes_data)
        raise CommandError(f"--data works with the {data_tasks} tasks, not {chosen.name}")
    title = f"{PROG} compare {chosen.name}"
    results, path = run_tasks([(chosen, losses)], options, out, force=force, title=title,
                              command=command or title, progress=progress)
    return results[0], path
