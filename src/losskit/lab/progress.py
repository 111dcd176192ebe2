"""Progress bars on stderr while models train (rich), so stdout keeps only the tables and the report's path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Tick = Callable[[], None]


class Bars:
    """One bar per task, counting epochs over every loss and seed: ``with bars.task(name, total) as tick``."""

    def __init__(self, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True), disable=not enabled,
        )

    def __enter__(self) -> Bars:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    @contextmanager
    def task(self, name: str, total: int) -> Iterator[Tick]:
        bar = self._progress.add_task(name, total=total)
        yield lambda: self._progress.advance(bar)
        self._progress.update(bar, completed=total)
