"""The Adaptive Card renderer: every card is a valid 1.5 card that Teams accepts and shows.

Validity is checked with two JSON Schemas kept offline in tests/conformance: the Teams SDK's
card schema (microsoft/teams.ts, which knows Teams' `Chart.*` elements) for the card as
sent, and the official Adaptive Card 1.5 schema (microsoft/AdaptiveCards) for the card as
a client that draws no charts shows it, each chart replaced by its fallback. Both keep
every `$ref` inside their file; the registry below refuses to fetch anything, so a
reference that is not local fails the test instead of reaching the network. What the
schemas cannot say (Teams' size limit, six buttons in a row, wrapping text) is checked by
`check`, against numbers written here rather than imported from the renderer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator, Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from sqlalchemy import select

from adapters.platforms.teams.render import (
    CARD_CONTENT_TYPE,
    card_attachment,
    render_card,
    render_text,
)
from bot.actions import CLAIM, CLOSE, REASSIGN
from bot.context import BotContext
from bot.inbound import Actor, CommandRequest, Platform
from bot.messages.alerts import close_form, reassign_form, survey_alert
from bot.messages.home import home
from bot.reply import (
    Action,
    Chart,
    ChartKind,
    Fact,
    Metric,
    Outcome,
    Reply,
    Series,
    Table,
    Tone,
    Trend,
    Visibility,
)
from bot.router import Router
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.config import Config
from metrics_core.delivery.alert_facts import survey_alert_facts
from metrics_core.delivery.targets import Target
from metrics_core.followups import work as followups
from metrics_core.followups.intake import record_answer
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import FollowUp, SurveyKind, TeamRole
from metrics_core.surveys.answers import SurveyAnswer
from metrics_core.synthetic import seed_database
from tests.routing import context_for
from tests.sample_replies import health_answer

CONFORMANCE = Path(__file__).parents[1] / "conformance"
SCHEMA_FILE = CONFORMANCE / "adaptive-card-1.5.0.json"
TEAMS_SCHEMA_FILE = CONFORMANCE / "teams-sdk-cards.schema.json"
# A bot's message may hold 100 KB counted in UTF-16, and Microsoft advises staying within
# 80 KB (msteams-docs, "Format your bot messages"; teams-charts.json, teams.message_size.bot):
# the card and the activity around it must stay within the advice.
TEAMS_MESSAGE_LIMIT = 80 * 1024
# Teams' clients show six buttons in a row (atc0005/go-teams-notify #161).
BUTTONS_PER_ROW = 6
OMITTED = "Some details were left out"
TONE_COLOR = {Tone.GOOD: "good", Tone.WARNING: "warning", Tone.BAD: "attention"}


# --- the checker -------------------------------------------------------------------------


def _offline(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # never fetch a schema from the network


@cache
def validator() -> Draft6Validator:
    if not SCHEMA_FILE.is_file():
        pytest.fail(f"the Adaptive Card 1.5 schema is missing: expected {SCHEMA_FILE}")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema, registry=Registry(retrieve=_offline))


@cache
def teams_validator() -> Draft7Validator:
    if not TEAMS_SCHEMA_FILE.is_file():
        pytest.fail(f"the Teams SDK card schema is missing: expected {TEAMS_SCHEMA_FILE}")
    schema = json.loads(TEAMS_SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=Registry(retrieve=_offline))


def without_charts(node: Any) -> Any:
    """The card as a client that draws no charts shows it: each `Chart.*` element replaced
    by its fallback (one it must have)."""
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Chart."):
            assert "fallback" in node, f"{node['type']} without a fallback"
            return without_charts(node["fallback"])
        return {key: without_charts(value) for key, value in node.items()}
    if isinstance(node, list):
        return [without_charts(item) for item in node]
    return node


def _errors(validator: Draft6Validator | Draft7Validator, card: Any, schema: str) -> list[str]:
    return [
        f"{schema} {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(card)
    ]


def schema_errors(card: Any) -> list[str]:
    """Errors of the card as sent (Teams SDK schema) and as shown without charts (AC 1.5)."""
    return _errors(teams_validator(), card, "teams") + _errors(
        validator(), without_charts(card), "ac1.5"
    )


def nodes(node: object) -> Iterator[dict[str, Any]]:
    """Every object in the card, nested cards included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from nodes(item)


def of_type(node: object, kind: str) -> list[dict[str, Any]]:
    return [n for n in nodes(node) if n.get("type") == kind]


def size(node: object) -> int:
    """UTF-16 bytes of the JSON as the Bot Framework SDK sends it (msrest writes it with
    Python's default `json.dumps`: ASCII, anything else escaped), as Teams counts a message."""
    return 2 * len(json.dumps(node))


def activity(reply: Reply) -> dict[str, Any]:
    """A message activity as the bot sends it, with a realistic envelope."""
    return {
        "type": "message",
        "id": "1732100000000",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "channelId": "msteams",
        "from": {"id": "28:00000000-0000-0000-0000-000000000000", "name": "Closeloop"},
        "conversation": {"id": "19:" + "x" * 60 + "@thread.tacv2;messageid=1732100000000"},
        "recipient": {"id": "29:" + "y" * 120, "name": "Some One"},
        "replyToId": "1732100000000",
        "text": render_text(reply),
        "attachments": [card_attachment(reply)],
    }


def check(reply: Reply) -> dict[str, Any]:
    """The reply's card, after checking everything Teams and its users rely on."""
    card = render_card(reply)
    assert schema_errors(card) == []
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert size(activity(reply)) <= TEAMS_MESSAGE_LIMIT, size(activity(reply))
    for block in of_type(card, "TextBlock"):
        assert block["wrap"] is True, block
        assert block["text"].strip(), block
    for choice_set in of_type(card, "Input.ChoiceSet"):
        assert choice_set["wrap"] is True
    assert len(card.get("actions", [])) <= BUTTONS_PER_ROW
    for action_set in of_type(card, "ActionSet"):
        assert 1 <= len(action_set["actions"]) <= BUTTONS_PER_ROW
    for action in buttons(card):
        assert action["title"].strip()
    json.dumps(card, allow_nan=False)  # plain JSON, nothing a serializer would choke on
    return card


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's buttons in the order a user sees them (not the ones inside forms)."""
    found = [a for s in card["body"] if s["type"] == "ActionSet" for a in s["actions"]]
    return found + list(card.get("actions", []))


def verb(action: dict[str, Any]) -> str:
    """The action id a button sends: its own verb, or its form's submit button's."""
    if action["type"] == "Action.ShowCard":
        (submit,) = action["card"]["actions"]
        return str(submit["verb"])
    return str(action["verb"])


def body_texts(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in of_type(card["body"], "TextBlock")]


def facts(card: dict[str, Any]) -> dict[str, str]:
    return {f["title"]: f["value"] for s in of_type(card, "FactSet") for f in s["facts"]}


def table_rows(table: dict[str, Any]) -> list[list[str]]:
    return [
        [" ".join(b["text"] for b in cell["items"]) for cell in row["cells"]]
        for row in table["rows"]
    ]


@pytest.mark.parametrize(
    "broken",
    [
        {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]},
        {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Table", "rows": [1]}]},
        {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "x", "color": "red"}]},
        {"type": "AdaptiveCard", "actions": [{"type": "Action.Exec", "verb": "x"}]},
        {"type": "AdaptiveCard", "actions": [{"type": "Action.Execute", "verb": 1}]},
        {"type": "AdaptiveCard", "msteams": {"width": "Full"}},
    ],
)
def test_the_schema_refuses_what_is_not_a_card(broken: dict[str, Any]) -> None:
    assert schema_errors(broken)


def test_the_checker_catches_a_card_over_the_size_limit() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]}
    card["body"] = [{"type": "TextBlock", "text": "x" * TEAMS_MESSAGE_LIMIT, "wrap": True}]
    assert schema_errors(card) == []
    assert size(card) > TEAMS_MESSAGE_LIMIT


# --- every kind of element ---------------------------------------------------------------

EVERYTHING = Reply(
    heading="Acme Corp — health",
    paragraphs=("Usage fell sharply after the **renewal** call.", "Second paragraph."),
    metrics=(
        Metric("Health score", "58/100", "-3 in 7 days", Trend.DOWN, Tone.WARNING, "yellow band"),
        Metric("NPS", "+20", None, Trend.UP, Tone.GOOD),
        Metric("Churn risk", "41 %", "+12 pts", Trend.UP, Tone.BAD),
        Metric("Seats", "31 of 100"),
    ),
    facts=(Fact("Owner", "Jo Csm"), Fact("Renewal", "2026-12-31"), Fact("ARR", "$120,000")),
    tables=(
        Table(
            ("Component", "Score", "Why"),
            (("Usage", "40", "31 of 100 seats active"), ("Support", "70", "4 open tickets")),
            title="Drivers",
        ),
    ),
    notes=("No data for engagement.", "As of 2026-11-20."),
    actions=(
        Action("closeloop.refresh", "Refresh", {"command": "health acme"}, primary=True),
        Action("closeloop.share", "Share in channel", {"command": "health acme"}),
    ),
    charts=(
        Chart(
            "Health, last 4 weeks",
            ChartKind.LINE,
            ("W1", "W2", "W3"),
            (Series("Health", (70.0, 66.0, 61.0)),),
            summary="Health 70 in W1, 61 in W3.",
        ),
    ),
)


def test_every_part_of_a_reply_is_shown_in_reading_order() -> None:
    card = check(EVERYTHING)
    body = card["body"]
    heading = body[0]
    assert heading["type"] == "TextBlock" and heading["text"] == "Acme Corp — health"
    assert heading["size"] == "large" and heading["weight"] == "bolder"
    kinds = [element["type"] for element in body]
    assert kinds.index("ColumnSet") < kinds.index("FactSet") < kinds.index("Table")
    texts = body_texts(card)
    # Reply text is text, not markdown: the asterisks are shown, escaped for the card.
    assert texts.index(r"Usage fell sharply after the \*\*renewal\*\* call.") < texts.index(
        "Second paragraph."
    )
    assert texts.index("Second paragraph.") < texts.index("No data for engagement.")
    assert "Health, last 4 weeks" in texts
    assert OMITTED not in " ".join(texts)
    assert facts(card) == {"Owner": "Jo Csm", "Renewal": "2026-12-31", "ARR": "$120,000"}
    note = next(b for b in of_type(body, "TextBlock") if b["text"] == "As of 2026-11-20.")
    assert note["isSubtle"] is True and note["size"] == "small"


def test_metrics_show_value_in_the_tones_colour_with_delta_trend_and_detail() -> None:
    card = check(EVERYTHING)
    columns = [c for row in of_type(card, "ColumnSet") for c in row["columns"]]
    assert len(columns) == 4
    shown = [[b["text"] for b in column["items"]] for column in columns]
    assert shown[0] == ["Health score", "58/100", "↘ -3 in 7 days", "yellow band"]
    assert shown[1] == ["NPS", "+20 ↗"]
    assert shown[2] == ["Churn risk", "41 %", "↗ +12 pts"]
    assert shown[3] == ["Seats", "31 of 100"]
    colours = [column["items"][1]["color"] for column in columns]
    assert colours == ["warning", "good", "attention", "default"]
    for metric in EVERYTHING.metrics:
        column = columns[EVERYTHING.metrics.index(metric)]
        assert column["items"][1]["color"] == TONE_COLOR.get(metric.tone, "default")


def test_a_table_is_a_table_element_with_a_header_row() -> None:
    card = check(EVERYTHING)
    (table,) = of_type([e for e in card["body"] if not e["type"].startswith("Chart.")], "Table")
    # The first row is the header by default; the property is left out because the two
    # schemas spell it differently (teams-charts.json, Table.firstRowAsHeader.spelling_conflict).
    assert "firstRowAsHeader" not in table and "firstRowAsHeaders" not in table
    assert len(table["columns"]) == 3
    assert table_rows(table) == [
        ["Component", "Score", "Why"],
        ["Usage", "40", "31 of 100 seats active"],
        ["Support", "70", "4 open tickets"],
    ]
    assert body_texts(card)[body_texts(card).index("Drivers") + 1] == "Component"


# How a table's columns share a card: Adaptive Cards give each column a share of the width
# in proportion to its `width` weight, less the cell's padding. Teams documents no widths;
# about 60 characters across a card in a chat is the estimate at which equal weights cut
# the demo's account names as users saw it ("Silvercre|st"); wider windows give more.
CHAT_WIDTHS_CHARS = (60, 75, 90)
CELL_PADDING_CHARS = 2
HEALTH_TABLE = Table(
    ("Component", "Score", "Weight", "Points", "Why"),
    (
        ("Usage", "40", "40%", "16.0", "31 of 100 seats active in 30 days, down 22 %"),
        ("Sentiment", "80", "35%", "28.0", "NPS +20 from 5 answers"),
        ("Support", "70", "25%", "17.5", "4 open tickets, 1 urgent"),
        ("Engagement", "—", "0%", "0.0", "no activity logged"),
    ),
)
RENEWALS_TABLE = Table(
    ("Account", "Renews", "ARR", "Health", "Risk", "Owner"),
    (
        ("Acme Corp", "2027-02-19", "$420k", "60 yellow", "21 %", "Dana Whitfield"),
        ("Silvercrest Holdings", "2027-02-12", "$44k", "80 green", "21 %", "Kwame Mensah"),
        ("Nimbusbridge Design", "2027-01-28", "$65k", "84 green", "10 %", "Sofia Lindqvist"),
        ("Khan & Brennan Advisors", "2027-01-03", "$4.2k", "46 yellow", "31 %", "Liam O'Connell"),
    ),
)


def cut_words(rows: list[list[str]], weights: list[float], width: int) -> list[str]:
    """The words wider than the characters their column gets in a card `width` wide."""
    room = [width * w / sum(weights) - CELL_PADDING_CHARS for w in weights]
    return [
        word
        for row in rows
        for cell, chars in zip(row, room, strict=True)
        for word in cell.split()
        if len(word) > chars
    ]


def test_equal_column_widths_cut_the_demos_words() -> None:
    """What the next test guards against: with every column equal, a chat-wide card cuts
    account names and owners in two."""
    rows = [list(RENEWALS_TABLE.columns), *map(list, RENEWALS_TABLE.rows)]
    cut = cut_words(rows, [1.0] * len(RENEWALS_TABLE.columns), CHAT_WIDTHS_CHARS[0])
    assert {"Silvercrest", "Nimbusbridge", "Lindqvist"} <= set(cut)


@pytest.mark.parametrize("width", CHAT_WIDTHS_CHARS)
@pytest.mark.parametrize("table", [HEALTH_TABLE, RENEWALS_TABLE], ids=["health", "renewals"])
def test_table_columns_are_sized_so_no_word_is_cut_at_chat_width(table: Table, width: int) -> None:
    card = check(Reply(heading="h", tables=(table,)))
    (element,) = of_type(card, "Table")
    rows = table_rows(element)
    assert rows == [list(table.columns), *map(list, table.rows)]
    assert cut_words(rows, [c["width"] for c in element["columns"]], width) == []


def test_numbers_align_right_and_words_left() -> None:
    aligned = {}
    for table in (HEALTH_TABLE, RENEWALS_TABLE):
        (element,) = of_type(check(Reply(heading="h", tables=(table,))), "Table")
        for name, column in zip(table.columns, element["columns"], strict=True):
            aligned[name] = column.get("horizontalCellContentAlignment", "left")
    assert aligned == {
        "Component": "left",
        "Score": "right",
        "Weight": "right",
        "Points": "right",
        "Why": "left",
        "Account": "left",
        "Renews": "left",
        "ARR": "right",
        "Health": "left",
        "Risk": "right",
        "Owner": "left",
    }


def test_buttons_execute_their_action_id_with_the_payload_as_data() -> None:
    card = check(EVERYTHING)
    assert card["actions"] == [
        {
            "type": "Action.Execute",
            "title": "Refresh",
            "verb": "closeloop.refresh",
            "data": {"command": "health acme"},
            "style": "positive",
        },
        {
            "type": "Action.Execute",
            "title": "Share in channel",
            "verb": "closeloop.share",
            "data": {"command": "health acme"},
        },
    ]


def test_a_reply_with_only_a_heading_is_a_card_with_only_a_heading() -> None:
    card = check(Reply(heading="Nothing to report"))
    assert [b["text"] for b in card["body"]] == ["Nothing to report"]
    assert "actions" not in card
    assert render_text(Reply(heading="Nothing to report")) == "Nothing to report"


def test_an_empty_reply_is_still_a_valid_card() -> None:
    card = check(Reply(heading="  "))
    assert card["body"] == []
    assert render_text(Reply(heading="")) == "Closeloop"


def test_unicode_is_kept_as_it_is() -> None:
    reply = Reply(
        heading="Müller & Söhne — 健康 🟢",
        facts=(Fact("Contact", "Zoë Ångström <zoe@example.de>"), Fact("עברית", "مرحبا")),
        paragraphs=("“Great product” — 素晴らしい 👍",),
        tables=(Table(("Name", "Ω"), (("Łódź", "∞"),)),),
    )
    card = check(reply)
    assert card["body"][0]["text"] == "Müller & Söhne — 健康 🟢"
    assert facts(card) == {"Contact": "Zoë Ångström <zoe@example.de>", "עברית": "مرحبا"}
    assert "“Great product” — 素晴らしい 👍" in body_texts(card)
    assert table_rows(of_type(card, "Table")[0])[1] == ["Łódź", "∞"]


def test_the_same_reply_renders_to_the_same_card() -> None:
    assert json.dumps(render_card(EVERYTHING)) == json.dumps(render_card(EVERYTHING))


def test_the_attachment_carries_the_card() -> None:
    attachment = card_attachment(EVERYTHING)
    assert attachment == {"contentType": CARD_CONTENT_TYPE, "content": render_card(EVERYTHING)}
    assert CARD_CONTENT_TYPE == "application/vnd.microsoft.card.adaptive"


def test_the_text_is_the_heading_and_the_first_metric_or_paragraph() -> None:
    assert render_text(EVERYTHING) == "Acme Corp — health\nHealth score: 58/100 (-3 in 7 days)"
    reply = Reply(heading="Help", paragraphs=("Ask me\nanything.", "More."))
    assert render_text(reply) == "Help\nAsk me anything."
    long = render_text(Reply(heading="x " * 5000, paragraphs=("y",)))
    assert len(long) <= 300 and long.endswith("…")


def test_an_action_without_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="empty action id"):
        render_card(Reply(heading="h", actions=(Action("", "Go"),)))


# --- alerts and forms --------------------------------------------------------------------

OUTCOMES = ["resolved", "no_response", "churn_risk_escalated"]
TEAM = [Member(1, "Jo Csm", TeamRole.CSM), Member(2, "Ann Lead", TeamRole.MANAGER)]


def alert(payload: dict[str, str]) -> Reply:
    return Reply(
        heading="NPS detractor: Acme Corp",
        paragraphs=("“The export has been broken for weeks.”",),
        metrics=(Metric("NPS", "3 / 10", tone=Tone.BAD, detail="Detractor"),),
        facts=(Fact("Respondent", "Jane Doe <jane@acme.example>"), Fact("Status", "Open")),
        actions=(
            Action(CLAIM, "Claim", payload, primary=True),
            Action(REASSIGN, "Reassign", payload, form=reassign_form(TEAM)),
            Action(CLOSE, "Close", payload, form=close_form(OUTCOMES)),
            Action("closeloop.details", "Account details", {"account": "ACME"}),
        ),
        visibility=Visibility.CHANNEL,
    )


def test_an_alert_shows_its_buttons_and_forms() -> None:
    payload = {"follow_up": "7"}
    card = check(alert(payload))
    claim, reassign, close, details = card["actions"]
    assert claim == {
        "type": "Action.Execute",
        "title": "Claim",
        "verb": CLAIM,
        "data": payload,
        "style": "positive",
    }
    assert (details["verb"], details["data"]) == ("closeloop.details", {"account": "ACME"})
    assert [reassign["type"], close["type"]] == ["Action.ShowCard"] * 2
    assert (reassign["title"], close["title"]) == ("Reassign", "Close")

    (owner,) = of_type(reassign["card"], "Input.ChoiceSet")
    assert owner["id"] == "owner" and owner["isRequired"] is True
    assert owner["choices"] == [
        {"title": "Jo Csm", "value": "1"},
        {"title": "Ann Lead", "value": "2"},
    ]

    form = close["card"]
    assert form["type"] == "AdaptiveCard"
    (outcome,) = of_type(form, "Input.ChoiceSet")
    assert outcome["id"] == "outcome" and outcome["label"] == "Outcome"
    assert outcome["isRequired"] is True
    assert [c["value"] for c in outcome["choices"]] == OUTCOMES
    assert outcome["choices"][2]["title"] == "Churn risk escalated"
    (note,) = of_type(form, "Input.Text")
    assert note["id"] == "note" and note["label"] == "Note"
    assert note["isMultiline"] is True and note["isRequired"] is False
    (submit,) = form["actions"]
    assert submit["type"] == "Action.Execute"
    assert (submit["title"], submit["verb"], submit["data"]) == ("Close", CLOSE, payload)
    assert "Close the loop" in [b["text"] for b in of_type(form, "TextBlock")]

    assert card["body"][0]["text"] == "NPS detractor: Acme Corp"
    assert facts(card)["Respondent"] == "Jane Doe <jane@acme.example>"
    verbs = [a["verb"] for a in of_type(card, "Action.Execute")]
    assert sorted(verbs) == sorted([CLAIM, REASSIGN, CLOSE, "closeloop.details"])


def test_an_initial_value_and_a_single_line_input_come_through() -> None:
    from bot.reply import Field, Form

    form = Form("Rename", "Save", (Field("name", "Name", initial="Acme"),))
    card = check(Reply(heading="h", actions=(Action("closeloop.rename", "Rename", form=form),)))
    (text,) = of_type(card, "Input.Text")
    assert text["value"] == "Acme" and text["isMultiline"] is False and text["isRequired"]


def test_more_than_six_buttons_go_in_rows_of_six_in_their_order() -> None:
    actions = tuple(Action(f"closeloop.pick{i}", f"Option {i}", {"i": str(i)}) for i in range(14))
    card = check(Reply(heading="Did you mean", actions=actions))
    assert "actions" not in card
    sets = [element for element in card["body"] if element["type"] == "ActionSet"]
    assert [len(s["actions"]) for s in sets] == [6, 6, 2]
    assert [a["verb"] for a in buttons(card)] == [a.action_id for a in actions]
    assert [a["data"] for a in buttons(card)] == [dict(a.payload) for a in actions]
    assert card["body"][-1]["type"] == "ActionSet"  # buttons after everything else


def test_six_buttons_stay_in_the_cards_own_row() -> None:
    actions = tuple(Action(f"closeloop.a{i}", f"A{i}") for i in range(6))
    card = check(Reply(heading="h", actions=actions))
    assert len(card["actions"]) == 6
    assert not of_type(card, "ActionSet")


# --- huge replies ------------------------------------------------------------------------


@cache
def words() -> str:
    """About 35,000 characters of numbered words."""
    return " ".join(f"word{i}" for i in range(4000))


HUGE = {
    "paragraphs": Reply(heading="Long", paragraphs=(words(),) * 10, actions=alert({}).actions),
    "table": Reply(
        heading="Renewals",
        tables=(
            Table(
                ("Account", "ARR", "Why"), tuple((f"Acct {i}", "$1", "x" * 90) for i in range(500))
            ),
        ),
    ),
    "facts": Reply(
        heading="Facts", facts=tuple(Fact(f"Fact {i}", words()[:300]) for i in range(2000))
    ),
    "metrics": Reply(heading="Metrics", metrics=tuple(Metric(f"M{i}", str(i)) for i in range(600))),
    "notes": Reply(heading="Notes", notes=tuple(f"note {i} " * 40 for i in range(300))),
    "cjk": Reply(heading="長い", paragraphs=("健康状態" * 20_000,)),
    "everything": Reply(
        heading="H" * 1000,
        paragraphs=(words(),) * 3,
        metrics=tuple(
            Metric("x" * 500, "y" * 500, "z" * 500, Trend.UP, Tone.BAD, "d" * 900)
            for _ in range(20)
        ),
        facts=tuple(Fact("f" * 300, "v" * 3000) for _ in range(50)),
        tables=tuple(Table(("a" * 400, "b"), (("c" * 400, "d"),) * 100) for _ in range(5)),
        notes=(words(),) * 3,
        actions=tuple(Action(f"closeloop.a{i}", "L" * 200, {"k": "v" * 100}) for i in range(40)),
        charts=tuple(
            Chart(
                "c",
                ChartKind.LINE,
                tuple(str(i) for i in range(300)),
                (Series("c", tuple(float(i) for i in range(300))),),
                summary="c rises from 0 to 299.",
            )
            for _ in range(10)
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(HUGE))
def test_huge_replies_stay_valid_and_small_and_keep_heading_and_buttons(name: str) -> None:
    reply = HUGE[name]
    card = check(reply)
    assert card["body"][0]["text"].startswith(reply.heading[:100])
    assert [verb(a) for a in buttons(card)] == [a.action_id for a in reply.actions]


def test_a_long_table_shows_its_first_rows_and_counts_the_rest() -> None:
    card = check(HUGE["table"])
    (table,) = of_type(card, "Table")
    rows = table_rows(table)
    assert rows[0] == ["Account", "ARR", "Why"]
    assert 1 < len(rows) - 1 <= 25
    assert [row[0] for row in rows[1:]] == [f"Acct {i}" for i in range(len(rows) - 1)]
    assert f"… {500 - (len(rows) - 1)} more rows not shown" in body_texts(card)


def test_long_paragraphs_are_cut_at_the_start_and_the_card_says_so() -> None:
    card = check(HUGE["paragraphs"])
    texts = body_texts(card)
    kept = [t for t in texts if t.startswith("word0 ")]
    assert kept, "the first paragraph's start should be shown"
    assert kept[-1].endswith("…") and words().startswith(kept[-1][:-1])
    assert any(OMITTED in t for t in texts)


def test_many_facts_keep_the_first_ones() -> None:
    card = check(HUGE["facts"])
    shown = list(facts(card))
    assert 10 < len(shown) < 2000
    assert shown == [f"Fact {i}" for i in range(len(shown))]
    assert any(OMITTED in t for t in body_texts(card))


def test_buttons_whose_payloads_cannot_fit_are_left_out_with_a_note() -> None:
    actions = tuple(Action(f"closeloop.a{i}", f"A{i}", {"blob": "x" * 9000}) for i in range(5))
    card = check(Reply(heading="h", actions=actions))
    verbs = [a["verb"] for a in buttons(card)]
    assert 0 < len(verbs) < 5 and verbs == [f"closeloop.a{i}" for i in range(len(verbs))]
    assert any(OMITTED in t for t in body_texts(card))


# --- real answers ------------------------------------------------------------------------


def test_a_health_answer_shows_score_owner_and_drivers() -> None:
    card = check(health_answer())
    assert card["body"][0]["text"] == "Acme Corp — health"
    first = of_type(card, "ColumnSet")[0]["columns"][0]["items"]
    assert [b["text"] for b in first[:2]] == ["Health score", "58/100"]
    assert first[1]["color"] == "warning"
    assert "Jo Csm" in facts(card).values()
    (table,) = of_type(card, "Table")
    assert table_rows(table)[0][:2] == ["Component", "Score"]


AS_OF = dt.date(2026, 11, 20)
COMMANDS = [
    "help",
    "health acme",
    "health zzzz-no-such",
    "health",
    "churn acme",
    "churn top 5",
    "nps",
    "nps acme 365d",
    "nps smb 2026-q3",
    "renewals 90",
    "kpis",
    "kpis enterprise 2026-q3",
    "value",
    "value acme",
    "followups",
    "followups mine",
    "followups unmatched",
    "followups sla",
    "digest",
    "digest list",
    "nosuchcommand",
]


def _answers(database: Database, config: Config) -> None:
    """Survey answers in every state an alert shows: open, claimed, closed, unmatched."""
    now = dt.datetime.combine(AS_OF, dt.time(9, 30), tzinfo=dt.UTC)
    answers = [
        SurveyAnswer(
            "generic",
            "r-1",
            SurveyKind.NPS,
            2,
            now,
            "Export broken",
            "jane@acme.example",
            "Jane Doe",
            "ACME",
        ),
        SurveyAnswer("generic", "r-2", SurveyKind.NPS, 10, now, "Love it", None, None, "ACME"),
        SurveyAnswer("generic", "r-3", SurveyKind.CSAT, 2, now, None, "bob@acme.example"),
        SurveyAnswer("generic", "r-4", SurveyKind.NPS, 0, now, "Awful", "who@nowhere.example"),
        SurveyAnswer("generic", "r-5", SurveyKind.CES, 2, now, "Hard", None, None, "ACME"),
    ]
    with database.writing() as session:
        ids = [
            record_answer(
                session, answer, config=config, fallback=Target("slack", "C0ALERTS"), now=now
            ).follow_up_id
            for answer in answers
        ]
        member = member_by_chat_id(session, platform="slack", user_id="U0CSM1")
        assert member is not None and ids[0] is not None and ids[2] is not None
        followups.claim(session, ids[0], member, now)
        outcome = config.follow_ups.outcomes[0]
        followups.close(
            session,
            ids[2],
            member,
            outcome=outcome,
            note="Called back",
            allowed_outcomes=config.follow_ups.outcomes,
            now=now,
        )


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotContext]:
    """A small seeded book: every command answers from real data, as in Teams."""
    path = tmp_path_factory.mktemp("teams-book") / "closeloop.db"
    database = Database(make_engine(f"sqlite:///{path}"))
    migrate.upgrade(database.engine)
    seed_database(database.engine, accounts=30, days=120, seed=11, as_of=AS_OF)
    config = Config()
    _answers(database, config)
    yield context_for(database, config, today=AS_OF)
    database.close()


ME = Actor(Platform.TEAMS, user_id="U0CSM1")


@pytest.mark.parametrize("text", COMMANDS)
def test_every_command_answers_with_a_valid_card(context: BotContext, text: str) -> None:
    reply = asyncio.run(Router(context).handle(CommandRequest.parse(text, ME)))
    card = check(reply)
    assert card["body"][0]["text"] == " ".join(reply.heading.split())[:150]
    shown = json.dumps(card, ensure_ascii=False)
    for fact in reply.facts[:5]:
        assert json.dumps(" ".join(fact.label.split()), ensure_ascii=False) in shown
    for action in reply.actions:
        assert json.dumps(action.action_id) in shown


def test_the_home_tab_replies_are_valid_cards(context: BotContext) -> None:
    for reply in asyncio.run(home(ME, context)):
        check(reply)


def test_survey_alerts_from_the_book_are_valid_cards(context: BotContext) -> None:
    def alerts(session: Any) -> list[Reply]:
        ids = session.scalars(select(FollowUp.id).order_by(FollowUp.id).limit(15)).all()
        found = [
            survey_alert_facts(session, follow_up_id=i, as_of=AS_OF, config=context.config)
            for i in ids
        ]
        return [survey_alert(a, context.config) for a in found if a is not None]

    replies = asyncio.run(context.db.read(alerts))
    assert len(replies) >= 4, "the book should hold the fixture's survey follow-ups"
    statuses = {
        fact.value.split()[0] for r in replies for fact in r.facts if fact.label == "Status"
    }
    assert statuses >= {"Open", "Claimed", "Closed"}
    for reply in replies:
        card = check(reply)
        verbs = {a["verb"] for a in of_type(card, "Action.Execute")}
        assert verbs == {a.action_id for a in reply.actions}
        for action in reply.actions:
            if action.form is not None:
                (show,) = [
                    a
                    for a in of_type(card, "Action.ShowCard")
                    if a["card"]["actions"][0]["verb"] == action.action_id
                ]
                ids = {
                    n["id"] for n in nodes(show["card"]) if n.get("type", "").startswith("Input.")
                }
                assert ids == {f.name for f in action.form.fields}


def test_shared_replies_keep_their_visibility_out_of_the_card() -> None:
    card = check(dataclasses.replace(EVERYTHING, visibility=Visibility.CHANNEL))
    assert "visibility" not in json.dumps(card)


def test_a_reply_that_is_not_an_answer_has_its_heading_in_a_warning_colour() -> None:
    reply = Reply("No account matches “acmee”", paragraphs=("Did you mean Acme Corp?",))
    colours = {}
    for outcome in Outcome:
        card = check(dataclasses.replace(reply, outcome=outcome))
        colours[outcome] = card["body"][0].get("color")
        assert card["body"][0]["text"] == "No account matches “acmee”"
    assert colours == {
        Outcome.ANSWER: None,
        Outcome.PROBLEM: "warning",
        Outcome.FAILURE: "attention",
    }
