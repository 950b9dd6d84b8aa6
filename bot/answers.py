"""Whole answers kept in memory while the database has not changed.

A CSM asks about the same accounts again and again through a day, and most questions
change nothing. An answer that depends only on what was asked, the day and the stored
data is the same until one of those moves, so the second asking can skip the database
and the metrics altogether: the answer is taken from memory after one look at the
database's change counter (`metrics_core.store.changes`), which costs microseconds and no
I/O. That look is what keeps it honest: a commit anywhere, by any process, makes every
kept answer a stranger, and it is computed afresh.

Only handlers that know their answer has no other input use this (today `health
<account>`); an answer about "my accounts" or one that depends on the asker's time zone
must not.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

from bot.reply import Outcome, Reply
from metrics_core.store.changes import Changes, Unwatched

DEFAULT_CAPACITY = 2_000
"""Answers kept, least recently used dropped first: a busy team's day of questions, a few
megabytes."""


class AnswerCache:
    """Replies by question, valid for one generation of the database.

    Used from the event loop only (no locks). Two first askings of one question at once
    both compute it, which is harmless.
    """

    def __init__(self, changes: Changes | None = None, capacity: int = DEFAULT_CAPACITY) -> None:
        self._changes: Changes = changes if changes is not None else Unwatched()
        self._capacity = capacity
        self._generation: int | None = None
        self._replies: OrderedDict[Hashable, Reply] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def remembered(self, question: Hashable) -> Reply | None:
        """The kept answer to `question` if the database has not changed since; else None."""
        generation = self._changes.generation()
        if generation is None or generation != self._generation:
            return None
        return self._take(question)

    async def answer(self, question: Hashable, compute: Callable[[], Awaitable[Reply]]) -> Reply:
        """The reply to `question`, from memory if nothing has changed since it was computed.

        `question` must hold everything the reply depends on besides the stored data (the
        command, its words, the day). Only answers are kept: a problem or a failure is
        asked again, so a fix shows at once.
        """
        generation = self._changes.generation()
        if generation is not None:
            if generation != self._generation:
                self._replies.clear()
                self._generation = generation
            if (held := self._take(question)) is not None:
                return held
        self.misses += 1
        reply = await compute()
        # Kept only if nothing committed while it was computed: it may have read either side.
        unchanged = generation is not None and self._changes.generation() == generation
        if reply.outcome is Outcome.ANSWER and unchanged and self._generation == generation:
            self._replies[question] = reply
            while len(self._replies) > self._capacity:
                self._replies.popitem(last=False)
        return reply

    def _take(self, question: Hashable) -> Reply | None:
        held = self._replies.get(question)
        if held is not None:
            self._replies.move_to_end(question)
            self.hits += 1
        return held
