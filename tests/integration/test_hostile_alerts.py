"""A survey alert about a hostile account, comment and respondent is inert on every surface.

The alert is built from the database as the dispatcher builds it, after the answer came in
through the generic webhook's translator, so the test covers the whole way customer text
takes: stored verbatim (SQL included), then shown in Slack, Teams and the terminal as the
text it is, never as a mention, a link or markup. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select, update

from adapters.platforms.console import render_text as console_text
from adapters.platforms.slack.render import render_message
from adapters.platforms.teams.render import render_card
from adapters.platforms.webhooks import WebhookSecrets, parse_delivery
from bot.messages.alerts import survey_alert
from metrics_core.config import Config
from metrics_core.delivery.alert_facts import survey_alert_facts
from metrics_core.delivery.targets import Target
from metrics_core.followups.intake import record_answer
from metrics_core.store.db import Database
from metrics_core.store.models import Account, FollowUp, SurveyResponse
from tests import webhook_signing as vendors
from tests.hostile import SQL, import_book
from tests.unit.test_hostile_render import (
    assert_markdown_inert,
    assert_slack_inert,
    assert_terminal_inert,
    card_texts,
    card_unescaped,
    schema_errors,
    slack_texts,
    slack_unescaped,
)

NOW = dt.datetime(2026, 11, 20, 9, 31, tzinfo=dt.UTC)
ACCOUNT = "<!channel> [Acme](http://evil.example) **Corp** <b>x</b>"
COMMENT = f"<!here> pay at <http://evil.example|acme.example/invoice> [here](http://evil) {SQL}"
NAME = "<@U0CSM1> _Jane_ <script>alert(1)</script>\x1b[2J"


def test_a_hostile_alert_is_stored_verbatim_and_shown_inert(db: Database, tmp_path: Path) -> None:
    import_book(db, tmp_path)
    body = vendors.generic_payload(
        response_id=SQL, score=2, comment=COMMENT, name=NAME, submitted_at=NOW
    )
    headers = vendors.sign_generic(
        vendors.GENERIC_SECRET, body, msg_id="msg_1", timestamp=int(NOW.timestamp())
    )
    (answer,) = parse_delivery(
        "generic", headers, body, WebhookSecrets(generic=vendors.GENERIC_SECRET), NOW
    )
    config = Config()
    with db.writing() as session:
        session.execute(update(Account).where(Account.external_id == "ACME").values(name=ACCOUNT))
        record_answer(session, answer, config=config, fallback=Target("slack", "C0ALERTS"), now=NOW)

    with db.reading() as session:
        stored = session.scalars(select(SurveyResponse)).one()
        assert (stored.provider_response_id, stored.comment, stored.respondent_name) == (
            SQL,
            COMMENT,
            NAME,
        )
        alert = survey_alert_facts(
            session,
            follow_up_id=session.scalars(select(FollowUp.id)).one(),
            as_of=NOW.date(),
            config=config,
        )
        assert alert is not None
        reply = survey_alert(alert, config)

    message = render_message(reply)
    slack = [*slack_texts(message.blocks), message.text]
    for text in slack:
        assert_slack_inert(text)
    shown = slack_unescaped(json.dumps(slack, ensure_ascii=False))
    for part in (COMMENT, "<@U0CSM1> _Jane_ <script>alert(1)</script>"):
        assert json.dumps(part, ensure_ascii=False)[1:-1] in shown, part
    assert ACCOUNT in reply.heading

    card = render_card(reply)
    assert schema_errors(card) == []
    texts = card_texts(card)
    for text in texts:
        assert_markdown_inert(text)
    assert any(COMMENT in card_unescaped(text) for text in texts)

    terminal = console_text(reply)
    assert_terminal_inert(terminal)
    assert COMMENT in terminal and ACCOUNT in terminal
