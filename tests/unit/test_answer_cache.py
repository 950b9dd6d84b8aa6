"""Whole answers are reused only while the database's change counter stands still."""

from __future__ import annotations

import asyncio

from bot.answers import AnswerCache
from bot.reply import Outcome, Reply


class Counter:
    """A change counter the test moves by hand; None means "cannot tell"."""

    def __init__(self) -> None:
        self.value: int | None = 0

    def generation(self) -> int | None:
        return self.value

    def close(self) -> None:
        return None


class Asked:
    """Computes a new reply each time it is asked, counting the askings."""

    def __init__(self, outcome: Outcome = Outcome.ANSWER, during: Counter | None = None) -> None:
        self.times = 0
        self.outcome = outcome
        self.during = during

    async def __call__(self) -> Reply:
        self.times += 1
        if self.during is not None and self.during.value is not None:
            self.during.value += 1  # a commit lands while the answer is computed
        return Reply(heading=f"answer {self.times}", outcome=self.outcome)


def ask(cache: AnswerCache, question: object, compute: Asked) -> Reply:
    return asyncio.run(cache.answer(question, compute))


def test_an_answer_is_reused_until_the_database_changes() -> None:
    counter, compute = Counter(), Asked()
    cache = AnswerCache(counter)
    first = ask(cache, "health acme", compute)
    assert ask(cache, "health acme", compute) is first
    assert compute.times == 1
    counter.value = 1
    assert ask(cache, "health acme", compute).heading == "answer 2"


def test_questions_are_kept_apart() -> None:
    compute = Asked()
    cache = AnswerCache(Counter())
    assert ask(cache, "health acme", compute) is not ask(cache, "health beta", compute)
    assert compute.times == 2


def test_an_answer_computed_while_a_write_committed_is_not_kept() -> None:
    counter = Counter()
    cache = AnswerCache(counter)
    racing = Asked(during=counter)
    ask(cache, "health acme", racing)
    ask(cache, "health acme", racing)
    assert racing.times == 2


def test_nothing_is_reused_when_changes_cannot_be_told() -> None:
    counter, compute = Counter(), Asked()
    counter.value = None
    cache = AnswerCache(counter)
    ask(cache, "health acme", compute)
    ask(cache, "health acme", compute)
    assert compute.times == 2
    # Nor by default: a context built without a watcher never reuses.
    default, again = AnswerCache(), Asked()
    ask(default, "q", again)
    ask(default, "q", again)
    assert again.times == 2


def test_problems_are_asked_again() -> None:
    compute = Asked(Outcome.PROBLEM)
    cache = AnswerCache(Counter())
    ask(cache, "health acm", compute)
    ask(cache, "health acm", compute)
    assert compute.times == 2


def test_the_least_recently_asked_make_room() -> None:
    compute = Asked()
    cache = AnswerCache(Counter(), capacity=2)
    acme = ask(cache, "acme", compute)
    ask(cache, "beta", compute)
    assert ask(cache, "acme", compute) is acme  # acme is now the most recent
    ask(cache, "gamma", compute)  # beta goes
    assert ask(cache, "acme", compute) is acme
    assert ask(cache, "beta", compute).heading == "answer 4"
