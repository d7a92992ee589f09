"""Progress bars for long stages (rich), usable as on_progress(done, total) callbacks."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


@contextlib.contextmanager
def stage_progress(description: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int, new_total: int | None) -> None:
            progress.update(task, completed=done, total=new_total)

        yield update
        current = progress.tasks[task]
        if current.total is None:
            progress.update(task, total=current.completed)
