"""A fake of the query seam: handlers read canned results instead of a database.

A handler reads with `context.db.read(partial(query, **arguments))`; the fake answers
with the result given for that query function, and remembers what was asked so a test
can check the arguments (the account, the period, the segment) the handler parsed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Asked:
    query: Callable[..., Any]
    arguments: Mapping[str, Any]


@dataclass
class FakeReader:
    """Answers `read` and `write` from `answers`, keyed by query function.

    An answer that is itself callable is called with the query's keyword arguments, for
    results that depend on what was asked.
    """

    answers: dict[Callable[..., Any], Any] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)

    async def read(self, work: Callable[[Any], T]) -> T:
        return self._answer(work)

    async def write(self, work: Callable[[Any], T]) -> T:
        return self._answer(work)

    def _answer(self, work: Callable[[Any], T]) -> T:
        if not isinstance(work, functools.partial):
            raise AssertionError(
                f"{work!r} is not a named query: handlers read `partial(query, ...)`"
            )
        query, arguments = work.func, dict(work.keywords)
        self.asked.append(Asked(query, arguments))
        if query not in self.answers:
            raise AssertionError(f"no answer given for {query.__qualname__}")
        answer = self.answers[query]
        result: T = answer(**arguments) if callable(answer) else answer
        return result

    def queries(self) -> list[Callable[..., Any]]:
        return [asked.query for asked in self.asked]
