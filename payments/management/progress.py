"""A one-line progress bar for commands that read record after record."""

from collections.abc import Callable

from django.core.management.base import OutputWrapper

WIDTH = 30


def progress_bar(out: OutputWrapper, label: str) -> Callable[[int, int], None]:
    """`progress(done, total)`, redrawn in place; the last call ends the line."""

    def progress(done: int, total: int) -> None:
        filled = WIDTH * done // total if total else WIDTH
        bar = "#" * filled + "-" * (WIDTH - filled)
        out.write(f"  {label}: [{bar}] {done}/{total}", ending="\r" if done < total else "\n")

    return progress
