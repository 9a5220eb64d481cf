"""Rich progress displays of ``ectocalc scan`` and ``ectocalc cohort`` on stderr.

Kept apart from the command modules so that Rich (about 0.2 s of imports) loads only when a
scan or a cohort runs, not for ``ectocalc --help`` or ``ectocalc assess``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from ectocalc.cohort._run import Progress as CohortProgress
    from ectocalc.imaging.scan import StageProgress


def stderr_console() -> Console:
    """The console the commands write their progress and closing lines to."""
    return Console(stderr=True)


@contextmanager
def scan_progress(console: Console) -> Iterator[StageProgress | None]:
    """Progress on stderr (loading slices, then analysis), only when stderr is a terminal."""
    if not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("loading CT", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield update


class _RateColumn(ProgressColumn):
    """Items per minute over the last completions (Rich's speed estimate)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- items/min" if speed is None else f"{speed * 60:.1f} items/min")


@contextmanager
def cohort_progress(console: Console) -> Iterator[CohortProgress]:
    """A progress bar on stderr when it is a terminal; one summary line at the end always.

    The bar shows the items of this run and the done, failed and skipped counts; the summary
    line counts every done item and says how many were skipped because an earlier run left
    them done with the same inputs and settings.
    """
    counts = {"done": 0, "failed": 0, "skipped": 0, "remaining": 0}

    def summary() -> None:
        done, failed, skipped = counts["done"], counts["failed"], counts["skipped"]
        line = f"cohort: {done + skipped} done, {failed} failed"
        if skipped:
            line += (f"; {skipped} skipped (done by an earlier run, inputs and settings "
                     "unchanged)")
        console.print(line, highlight=False, soft_wrap=True)

    if not console.is_terminal:
        def record(event: str, done: int, failed: int, skipped: int, remaining: int) -> None:
            counts.update(done=done, failed=failed, skipped=skipped, remaining=remaining)

        yield record
        summary()
        return
    with Progress(TextColumn("cohort"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[done]} done, {task.fields[failed]} failed, "
                             "{task.fields[skipped]} skipped"), _RateColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("cohort", total=None, done=0, failed=0, skipped=0)

        def update(event: str, done: int, failed: int, skipped: int, remaining: int) -> None:
            counts.update(done=done, failed=failed, skipped=skipped, remaining=remaining)
            # skipped items are not work of this run: neither in the total nor in the rate
            bar.update(task, total=done + failed + remaining, completed=done + failed,
                       done=done, failed=failed, skipped=skipped)

        yield update
    summary()
