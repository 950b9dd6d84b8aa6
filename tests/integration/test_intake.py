"""Survey answers from webhooks: stored once, alerted once per target, updated in place."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from sqlalchemy import func, select

from metrics_core.config import Alerts, Config, Route
from metrics_core.delivery.targets import Target
from metrics_core.followups.intake import record_answer
from metrics_core.store.db import Database
from metrics_core.store.models import (
    AnswerBand,
    Delivery,
    FollowUp,
    FollowUpStatus,
    Segment,
    SurveyKind,
    SurveyResponse,
)
from metrics_core.surveys.answers import SurveyAnswer
from tests import factories

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
ALERTS = Target("slack", "C0ALERTS")
"""The operator's fallback alerts target (`CLOSELOOP_SLACK_ALERTS_CHANNEL`)."""
ANSWER = SurveyAnswer(
    provider="generic",
    response_id="r-1",
    kind=SurveyKind.NPS,
    score=3,
    submitted_at=NOW,
    respondent_email="jane@acme.example",
    respondent_name="Jane Doe",
)


def _seed(db: Database) -> None:
    with db.writing() as session:
        owner = factories.team_member(session, slack_user_id="U0CSM1")
        factories.account(session, owner=owner)
        factories.account(session, "SMOL", "Smol Ltd", segment=Segment.SMB, domain="smol.example")


def _record(db: Database, answer: SurveyAnswer, config: Config | None = None) -> object:
    with db.writing() as session:
        return record_answer(session, answer, config=config or Config(), fallback=ALERTS, now=NOW)


def _counts(db: Database) -> tuple[int, int, int]:
    with db.reading() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (SurveyResponse, FollowUp, Delivery)
        )


def test_an_answer_is_matched_stored_and_owes_one_alert(db: Database) -> None:
    _seed(db)
    _record(db, ANSWER)
    with db.reading() as session:
        response = session.scalars(select(SurveyResponse)).one()
        follow_up = session.scalars(select(FollowUp)).one()
        delivery = session.scalars(select(Delivery)).one()
        assert response.account_id is not None  # matched by the acme.example domain
        assert follow_up.status is FollowUpStatus.OPEN and follow_up.band is AnswerBand.DETRACTOR
        assert (delivery.platform, delivery.target, delivery.follow_up_id) == (
            "slack",
            "C0ALERTS",
            follow_up.id,
        )


def test_a_redelivery_changes_nothing_and_an_update_edits_the_alert(db: Database) -> None:
    _seed(db)
    _record(db, ANSWER)
    _record(db, ANSWER)
    assert _counts(db) == (1, 1, 1)
    with db.reading() as session:
        assert session.scalars(select(Delivery.version)).one() == 1

    _record(db, dataclasses.replace(ANSWER, comment="Too slow since the upgrade"))
    _record(db, dataclasses.replace(ANSWER, score=2))  # no comment given: the comment stays
    assert _counts(db) == (1, 1, 1)
    with db.reading() as session:
        response = session.scalars(select(SurveyResponse)).one()
        assert (response.score, response.comment) == (2, "Too slow since the upgrade")
        assert session.scalars(select(Delivery.version)).one() == 3


async def test_concurrent_duplicate_deliveries_give_one_answer_and_one_alert(db: Database) -> None:
    _seed(db)

    def deliver(session: object) -> None:
        record_answer(
            session,  # type: ignore[arg-type]
            ANSWER,
            config=Config(),
            fallback=ALERTS,
            now=NOW,
        )

    await asyncio.gather(*(db.write(deliver) for _ in range(20)))
    assert _counts(db) == (1, 1, 1)


def test_unmatched_answers_are_kept_and_still_alert(db: Database) -> None:
    _seed(db)
    _record(db, dataclasses.replace(ANSWER, respondent_email="someone@nowhere.example"))
    with db.reading() as session:
        assert session.scalars(select(SurveyResponse.account_id)).one() is None
        assert session.scalars(select(FollowUp.account_id)).one() is None
    assert _counts(db) == (1, 1, 1)


def test_routing_rules_pick_targets_and_silence_noise(db: Database) -> None:
    _seed(db)
    config = Config(
        alerts=Alerts(
            routes=[
                Route(bands=[AnswerBand.PROMOTER], has_comment=False, stop=True),
                Route(
                    bands=[AnswerBand.DETRACTOR],
                    segments=[Segment.ENTERPRISE],
                    slack_channels=["C0ENTERPRISE"],
                    owner_dm=True,
                ),
            ]
        )
    )
    _record(db, ANSWER, config)  # Enterprise detractor: channel and owner DM
    _record(db, dataclasses.replace(ANSWER, response_id="r-2", score=10), config)  # silenced
    _record(  # SMB passive: no rule matches, so the default channel
        db,
        dataclasses.replace(ANSWER, response_id="r-3", score=8, respondent_email="x@smol.example"),
        config,
    )
    with db.reading() as session:
        targets = sorted(session.execute(select(Delivery.target)).scalars())
        silenced = session.scalars(
            select(func.count())
            .select_from(FollowUp)
            .join(SurveyResponse)
            .where(SurveyResponse.provider_response_id == "r-2")
        ).one()
    assert targets == ["C0ALERTS", "C0ENTERPRISE", "U0CSM1"]
    assert silenced == 0  # a silenced promoter opens no follow-up either
