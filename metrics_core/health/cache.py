"""One account's health, computed once per change of its inputs instead of once per question.

Scoring one account reads a year of its usage, its tickets, surveys, contracts and
snapshots: about fifteen queries. The answer only changes when those inputs do, or the
day turns, so the service keeps each answer with the `inputs_version` it was computed
from (see `metrics_core.store.input_versions`) and checks that one number before reusing it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.health.scorecard import HealthResult, account_health
from metrics_core.store import input_versions

DEFAULT_CAPACITY = 20_000
"""Answers kept, least recently used dropped first: a 10,000-account book twice over, a few
tens of megabytes."""


class HealthCache:
    """`account_health` for one scorecard, reused while the account's inputs are unchanged.

    Shared by every request of the process; safe to call from the database worker threads.
    Two first questions about one account may both compute it, which is harmless.
    """

    def __init__(self, config: Config, capacity: int = DEFAULT_CAPACITY) -> None:
        self._config = config
        self._capacity = capacity
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[int, dt.date], tuple[int, HealthResult | None]] = (
            OrderedDict()
        )

    def get(self, session: Session, account_id: int, as_of: dt.date) -> HealthResult | None:
        """The account's health as of `as_of`; None if it is not a customer then."""
        # The version is read before the inputs: a write committed in between makes the
        # stored version old, so the next question recomputes rather than trusting it.
        version = input_versions.version(session, account_id)
        if version is None:
            return None
        key = (account_id, as_of)
        with self._lock:
            held = self._answers.get(key)
            if held is not None and held[0] == version:
                self._answers.move_to_end(key)
                return held[1]
        result = account_health(session, account_id, as_of, self._config)
        with self._lock:
            self._answers[key] = (version, result)
            self._answers.move_to_end(key)
            while len(self._answers) > self._capacity:
                self._answers.popitem(last=False)
        return result
