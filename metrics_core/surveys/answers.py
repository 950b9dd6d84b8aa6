"""A survey answer as it arrives from outside, before it is stored.

Survey webhooks (each vendor's payload) and future sources translate to this one shape at
the edge, so storing an answer, matching its respondent and alerting on it are written
once whatever the vendor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from metrics_core.store.models import SCORE_RANGES, SurveyKind


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """One survey response; `(provider, response_id)` identifies it across re-deliveries."""

    provider: str
    response_id: str
    kind: SurveyKind
    score: int
    submitted_at: dt.datetime
    comment: str | None = None
    respondent_email: str | None = None
    respondent_name: str | None = None
    account_external_id: str | None = None

    def __post_init__(self) -> None:
        low, high = SCORE_RANGES[self.kind]
        if not low <= self.score <= high:
            raise ValueError(f"{self.kind.value} score {self.score} is outside {low}..{high}")
        if self.submitted_at.tzinfo is None:
            raise ValueError("submitted_at must carry a time zone")
        if not self.response_id:
            raise ValueError("response_id is empty")
