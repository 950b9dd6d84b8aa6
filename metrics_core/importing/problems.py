"""What is wrong with an import file, said so that a user can find and fix it.

Problems are collected instead of raised one at a time, because a user fixing a
spreadsheet wants every mistake in one go; but only up to a limit, because a file whose
whole date column is in the wrong format needs one hint, not a million lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One mistake: the file, its physical line (the header is line 1) and column, if known."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = self.message if self.column is None else f"column '{self.column}': {self.message}"
        return f"{where}: {what}"


class ImportFailed(Exception):
    """The file was rejected and nothing was written.

    `problems` holds at most `max_problems` entries. Checking stops at that limit, so
    `more` counts the further problems already found in the check that hit the limit:
    there are at least that many more (and `stopped` says the file was not checked to
    its end).
    """

    def __init__(self, problems: Sequence[Problem], *, more: int = 0, stopped: bool = False):
        # In file order, as a reader fixes them; problems of the whole file come first.
        self.problems = sorted(problems, key=lambda p: (p.line is not None, p.line or 0))
        self.more = more
        self.stopped = stopped
        super().__init__(self.summary())

    def summary(self) -> str:
        lines = [str(problem) for problem in self.problems]
        if self.more:
            lines.append(f"… and at least {_count(self.more, 'more problem')}")
        if self.stopped:
            lines.append(f"Checking stopped after {_count(len(self.problems), 'problem')}.")
        lines.append("Nothing was imported.")
        return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class ProblemLog:
    """Collects problems for one file; raises `ImportFailed` as soon as the limit is reached."""

    def __init__(self, file: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_problems must be at least 1, not {limit}")
        self.file = file
        self.limit = limit
        self.problems: list[Problem] = []

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, column, message))
        if len(self.problems) >= self.limit:
            raise ImportFailed(self.problems, stopped=True)

    def add_rows(
        self,
        column: str | None,
        lines: Sequence[int] | Any,
        values: Sequence[Any] | Any,
        message: Callable[[Any], str],
    ) -> None:
        """One problem per line, worded by `message(value)`; only as many as the limit allows.

        Messages are built only for the problems kept, so a column that is wrong in every
        one of a million rows costs no more than one that is wrong twice.
        """
        room = self.limit - len(self.problems)
        # `values` may be cut short at the limit by callers for whom wording is costly.
        for line, value in zip(list(lines[:room]), list(values[:room]), strict=False):
            self.problems.append(Problem(self.file, int(line), column, message(value)))
        if len(lines) >= room:
            raise ImportFailed(self.problems, more=len(lines) - room, stopped=True)

    def raise_if_any(self) -> None:
        """End of a stage: later stages would only repeat these problems in other words."""
        if self.problems:
            raise ImportFailed(self.problems)
