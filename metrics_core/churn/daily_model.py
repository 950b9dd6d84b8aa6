"""The churn model each day answers with: trained off the request path, kept until the next.

Training reads months of history and fits several models (seconds on a large book), so
it runs once a day on a worker thread of its own, never in a request's database thread
and never under a lock a request waits on:

- the service starts today's training when it starts and when it takes the daily
  snapshot (`start`);
- a question on the event loop asks `ready`: it gets the kept model at once if there is
  one for its day, or the previous day's while the new one trains; only the very first
  question, before any model exists, waits, and all such questions await the same
  training;
- the day's whole-book scoring runs on the same worker (`run`), so it queues behind the
  training it needs instead of competing with requests for the CPU;
- commands at a terminal (`closeloop ask`, `snapshot`, `model evaluate`) and the snapshot
  job, already on the worker, train in their own thread (`get`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar, runtime_checkable

from sqlalchemy.orm import Session

from metrics_core.churn.risk import RiskModel, SharedTraining, train
from metrics_core.config import Config
from metrics_core.store.db import Query

T = TypeVar("T")

log = logging.getLogger(__name__)


class Reader(Protocol):
    """The query seam (`bot.context.Reader`): a query run in one transaction."""

    async def read(self, work: Query[T]) -> T: ...


@runtime_checkable
class Sessions(Protocol):
    """A database that opens read transactions on the caller's thread (`Database`)."""

    def reading(self) -> contextlib.AbstractContextManager[Session]: ...


class RiskModels:
    """The process's churn models: the newest kept, each day's trained once.

    The lock guards only the bookkeeping (which day is kept, which is training); training
    itself never runs under it.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._books = threading.RLock()
        self._kept: tuple[dt.date, RiskModel] | None = None
        self._training: dict[dt.date, Future[RiskModel]] = {}
        self._executor: ThreadPoolExecutor | None = None

    def _worker(self) -> ThreadPoolExecutor:
        with self._books:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="closeloop-churn")
            return self._executor

    def _known(self, as_of: dt.date) -> RiskModel | None:
        kept = self._kept
        return kept[1] if kept is not None and kept[0] == as_of else None

    def _keep(self, as_of: dt.date, model: RiskModel) -> None:
        """Keep `model` unless a newer day's is kept (a backfill trains past days too)."""
        with self._books:
            if self._kept is None or self._kept[0] <= as_of:
                self._kept = (as_of, model)

    def get(
        self, session: Session, as_of: dt.date, shared: SharedTraining | None = None
    ) -> RiskModel:
        """The model for `as_of`, trained in the caller's thread on `session` if need be.

        For code that is not on the event loop: the commands at a terminal, and the
        snapshot, which `run` already runs on the worker. `shared` lets the several days
        a backfill trains read their history once.
        """
        model = self._known(as_of)
        if model is None:
            model = train(session, as_of, self._config, shared)
            self._keep(as_of, model)
        return model

    def start(self, db: Sessions, as_of: dt.date) -> Future[RiskModel]:
        """Train `as_of`'s model on the worker unless it is kept or training already."""
        with self._books:
            running = self._training.get(as_of)
            if running is not None:
                return running
            known = self._known(as_of)
            if known is not None:
                done: Future[RiskModel] = Future()
                done.set_result(known)
                return done
            running = self._worker().submit(self._train, db, as_of)
            self._training[as_of] = running
            running.add_done_callback(functools.partial(self._trained, as_of))
            return running

    def _train(self, db: Sessions, as_of: dt.date) -> RiskModel:
        known = self._known(as_of)  # the snapshot, queued before, may have trained it
        if known is not None:
            return known
        with db.reading() as session:
            model = train(session, as_of, self._config)
        self._keep(as_of, model)
        return model

    def _trained(self, as_of: dt.date, future: Future[RiskModel]) -> None:
        with self._books:
            if self._training.get(as_of) is future:
                del self._training[as_of]
        if not future.cancelled() and (error := future.exception()) is not None:
            log.error("training the churn model for %s failed", as_of, exc_info=error)

    async def ready(self, db: Reader, as_of: dt.date) -> RiskModel:
        """The model that answers on `as_of`, for code on the event loop.

        Never trains in the caller's thread: a missing model is trained on the worker.
        While a later day's model trains, the one kept answers; only when there is none
        does the caller wait, on the same training as every other caller. A reader that is
        not a database (a fake in handler tests) is asked for the `train` query instead.
        """
        known = self._known(as_of)
        if known is not None:
            return known
        if not isinstance(db, Sessions):
            return await db.read(functools.partial(train, as_of=as_of, config=self._config))
        training = self.start(db, as_of)
        kept = self._kept
        if kept is not None and kept[0] < as_of:
            return kept[1]
        # Shielded: a caller that gives up must not cancel the training others await.
        return await asyncio.shield(asyncio.wrap_future(training))

    async def run(self, work: Callable[[], T]) -> T:
        """Run other CPU-heavy work (the day's whole-book scoring) on the model's worker."""
        return await asyncio.wrap_future(self._worker().submit(work))

    def close(self) -> None:
        """Stop the worker: queued work is dropped, work under way finishes on its own."""
        with self._books:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
