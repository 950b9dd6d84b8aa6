"""The churn model off the request path: trained on its own worker, once, kept until the next.

Training is replaced by a stand-in that records where it ran and can be held, so the
tests say what a question on the event loop waits for, without a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from metrics_core.churn import daily_model
from metrics_core.churn.daily_model import RiskModels
from metrics_core.churn.risk import Method, RiskModel, train
from metrics_core.config import Config
from tests.fakes.reader import FakeReader

MONDAY = dt.date(2026, 11, 16)
TUESDAY = MONDAY + dt.timedelta(days=1)


def _model(day: dt.date) -> RiskModel:
    return RiskModel(Method.RULES, None, trained_rows=day.day, churned_accounts=0)


class Training:
    """Stands in for `train`: where and for which day it ran; `hold` keeps it running."""

    def __init__(self) -> None:
        self.calls: list[tuple[dt.date, str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()
        self.fail_next = False

    def __call__(
        self, session: Any, as_of: dt.date, config: Config, shared: Any = None
    ) -> RiskModel:
        self.calls.append((as_of, threading.current_thread().name))
        self.started.set()
        assert self.hold.wait(10)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the database went away")
        return _model(as_of)


class Book:
    """A database as `RiskModels` sees it: read transactions on the caller's thread."""

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        yield None

    async def read(self, work: Callable[[Any], Any]) -> Any:
        return work(None)


@pytest.fixture
def training(monkeypatch: pytest.MonkeyPatch) -> Training:
    stand_in = Training()
    monkeypatch.setattr(daily_model, "train", stand_in)
    return stand_in


@pytest.fixture
def models() -> Iterator[RiskModels]:
    kept = RiskModels(Config())
    yield kept
    kept.close()


async def test_questions_before_any_model_await_one_training_on_the_models_worker(
    training: Training, models: RiskModels
) -> None:
    training.hold.clear()
    asking = [asyncio.create_task(models.ready(Book(), MONDAY)) for _ in range(5)]
    await asyncio.to_thread(training.started.wait, 10)
    training.hold.set()
    answers = await asyncio.gather(*asking)
    assert {id(answer) for answer in answers} == {id(answers[0])}
    assert answers[0] == _model(MONDAY)
    (day, thread), *others = training.calls
    assert (day, others) == (MONDAY, [])
    assert thread.startswith("closeloop-churn")
    assert thread != threading.current_thread().name


async def test_the_kept_model_answers_at_once_while_the_next_days_trains(
    training: Training, models: RiskModels
) -> None:
    assert await models.ready(Book(), MONDAY) == _model(MONDAY)
    training.hold.clear()
    # Tuesday's first question is not kept waiting for Tuesday's training.
    assert await asyncio.wait_for(models.ready(Book(), TUESDAY), 2) == _model(MONDAY)
    await asyncio.to_thread(training.started.wait, 10)
    training.hold.set()
    await asyncio.wrap_future(models.start(Book(), TUESDAY))
    assert await models.ready(Book(), TUESDAY) == _model(TUESDAY)
    assert [day for day, _ in training.calls] == [MONDAY, TUESDAY]


async def test_a_question_given_up_does_not_cancel_the_training_others_await(
    training: Training, models: RiskModels
) -> None:
    busy = threading.Event()
    snapshot = asyncio.ensure_future(models.run(lambda: busy.wait(10)))  # the worker is busy
    impatient = asyncio.create_task(models.ready(Book(), MONDAY))
    patient = asyncio.create_task(models.ready(Book(), MONDAY))
    await asyncio.sleep(0.05)
    impatient.cancel()
    busy.set()
    assert await asyncio.wait_for(patient, 10) == _model(MONDAY)
    assert await snapshot
    assert impatient.cancelled()


async def test_a_failed_training_reaches_its_askers_and_the_next_question_trains_again(
    training: Training, models: RiskModels
) -> None:
    training.fail_next = True
    with pytest.raises(RuntimeError, match="database went away"):
        await models.ready(Book(), MONDAY)
    assert await models.ready(Book(), MONDAY) == _model(MONDAY)
    assert [day for day, _ in training.calls] == [MONDAY, MONDAY]


async def test_the_snapshot_queued_behind_todays_training_finds_the_model_trained(
    training: Training, models: RiskModels
) -> None:
    models.start(Book(), MONDAY)
    scored_on, model = await models.run(
        lambda: (threading.current_thread().name, models.get(None, MONDAY))  # type: ignore[arg-type]
    )
    assert model == _model(MONDAY)
    assert scored_on.startswith("closeloop-churn")
    assert len(training.calls) == 1


def test_a_command_at_the_terminal_trains_in_its_own_thread_once(
    training: Training, models: RiskModels
) -> None:
    assert models.get(None, MONDAY) == _model(MONDAY)  # type: ignore[arg-type]
    assert models.get(None, MONDAY) == _model(MONDAY)  # type: ignore[arg-type]
    assert training.calls == [(MONDAY, threading.current_thread().name)]


async def test_a_past_days_model_does_not_replace_the_kept_one(
    training: Training, models: RiskModels
) -> None:
    assert await models.ready(Book(), TUESDAY) == _model(TUESDAY)
    assert models.get(None, MONDAY) == _model(MONDAY)  # type: ignore[arg-type]  # a backfill
    assert await models.ready(Book(), TUESDAY) == _model(TUESDAY)
    assert [day for day, _ in training.calls] == [TUESDAY, MONDAY]


async def test_a_fake_reader_answers_the_training_query_by_name(models: RiskModels) -> None:
    reader = FakeReader({train: _model(MONDAY)})
    assert await models.ready(reader, MONDAY) == _model(MONDAY)
    assert reader.asked[0].arguments == {"as_of": MONDAY, "config": Config()}
