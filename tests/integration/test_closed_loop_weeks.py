"""The closed loop week by week, against outcomes worked by hand, on SQLite and PostgreSQL.

SLA 24 h, clock read at NOW (20 June 12:00 UTC). Three weeks end with the period
[14 June, 21 June), so the first two reach back before the period:

    follow-up  created          claimed   week                     outcome at NOW
    A          30 May 10:00     +2 h      before the weeks         —
    B          31 May 00:00     +30 h     31 May – 6 Jun (first)   missed (late)
    C           2 Jun 10:00     +4 h      31 May – 6 Jun           within
    D          13 Jun 23:00     +24 h     7 – 13 Jun               within (exactly on the SLA)
    E          14 Jun 00:00     —         14 – 20 Jun              missed (open past SLA)
    F          20 Jun 00:00     —         14 – 20 Jun              pending (SLA runs to 21 Jun)
    passive     8 Jun 10:00     —         7 – 13 Jun               not an SLA band: left out
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.followups.closed_loop import closed_loop
from metrics_core.store.db import Database
from metrics_core.store.models import (
    Account,
    AnswerBand,
    FollowUp,
    FollowUpStatus,
    SurveyKind,
    SurveyResponse,
)
from tests import factories as f

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 20, 12, tzinfo=UTC)
PERIOD = (dt.datetime(2026, 6, 14, tzinfo=UTC), dt.datetime(2026, 6, 21, tzinfo=UTC))
WEEKS_START = dt.datetime(2026, 5, 31, tzinfo=UTC)
H = dt.timedelta(hours=1)
SLA = Config().follow_ups


def _follow_up(
    session: Session,
    key: str,
    account: Account,
    created: dt.datetime,
    claimed: dt.timedelta | None,
    band: AnswerBand = AnswerBand.DETRACTOR,
) -> None:
    response = SurveyResponse(
        provider="test",
        provider_response_id=key,
        kind=SurveyKind.NPS,
        score=2 if band is AnswerBand.DETRACTOR else 7,
        account_id=account.id,
        submitted_at=created,
        received_at=created,
        updated_at=created,
    )
    session.add(response)
    session.flush()
    session.add(
        FollowUp(
            survey_response_id=response.id,
            account_id=account.id,
            status=FollowUpStatus.OPEN if claimed is None else FollowUpStatus.CLAIMED,
            band=band,
            created_at=created,
            claimed_at=None if claimed is None else created + claimed,
        )
    )


def _book(db: Database) -> None:
    day = dt.timedelta(days=1)
    with db.writing() as session:
        acme = f.account(session)
        _follow_up(session, "A", acme, WEEKS_START - day + 10 * H, 2 * H)
        _follow_up(session, "B", acme, WEEKS_START, 30 * H)
        _follow_up(session, "C", acme, WEEKS_START + 2 * day + 10 * H, 4 * H)
        _follow_up(session, "D", acme, WEEKS_START + 13 * day + 23 * H, 24 * H)
        _follow_up(session, "E", acme, PERIOD[0], None)
        _follow_up(session, "F", acme, PERIOD[1] - day, None)
        _follow_up(
            session, "passive", acme, WEEKS_START + 8 * day + 10 * H, None, AnswerBand.PASSIVE
        )


def test_each_week_has_the_outcomes_of_the_follow_ups_created_in_it(db: Database) -> None:
    _book(db)
    with db.reading() as session:
        loop = closed_loop(session, *PERIOD, SLA, now=NOW, weeks=3)

    assert [(week.start, week.end) for week in loop.weeks] == [
        (WEEKS_START, WEEKS_START + dt.timedelta(days=7)),
        (WEEKS_START + dt.timedelta(days=7), PERIOD[0]),
        PERIOD,
    ]
    assert [
        (w.stats.follow_ups, w.stats.within_sla, w.stats.missed, w.stats.pending)
        for w in loop.weeks
    ] == [(2, 1, 1, 0), (1, 1, 0, 0), (2, 0, 1, 1)]
    assert loop.weeks[-1].stats.open_past_sla == 1
    # The period itself is still only its own seven days: E and F.
    assert (loop.total.follow_ups, loop.total.n, loop.total.pending) == (2, 1, 1)
    assert loop.total == loop.weeks[-1].stats


def test_the_weeks_read_what_their_days_asked_as_a_period_read(db: Database) -> None:
    _book(db)
    with db.reading() as session:
        weekly = closed_loop(session, *PERIOD, SLA, now=NOW, weeks=3).weeks
        whole = closed_loop(session, WEEKS_START, PERIOD[1], SLA, now=NOW)
        each = [closed_loop(session, w.start, w.end, SLA, now=NOW).total for w in weekly]
    assert [week.stats for week in weekly] == each
    assert sum(week.stats.n for week in weekly) == whole.total.n == 4
    assert sum(week.stats.within_sla for week in weekly) == whole.total.within_sla == 2


def test_without_weeks_asked_there_are_none(db: Database) -> None:
    _book(db)
    with db.reading() as session:
        assert closed_loop(session, *PERIOD, SLA, now=NOW).weeks == ()
