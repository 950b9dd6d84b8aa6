"""The Block Kit renderer shows every part of a reply and never breaks one of Slack's limits.

Slack refuses a whole message when one block breaks one limit, so every rendered message
and view here goes through `assert_within_limits`, which checks each limit in
tests/conformance/slack-blockkit-limits.json that applies to what the renderer produces,
and native chart and table blocks through `tests.slack_blocks` (the limits in
tests/conformance/slack-charts-tables-limits.json). slack_sdk's own block models give a
second opinion on a few messages.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from adapters.platforms.slack.render import (
    MESSAGE_TEXT_BUDGET,
    SlackMessage,
    button_value,
    parse_button_value,
    render_home,
    render_message,
)
from bot.reply import Action, Fact, Metric, Outcome, Reply, Table, Tone, Trend
from tests.sample_replies import health_answer
from tests.slack_blocks import block_errors, message_errors

LIMITS_FILE = Path(__file__).parents[1] / "conformance" / "slack-blockkit-limits.json"
OMITTED = "Some details were left out"
# How the Slack adapter recognises our buttons, repeats included (adapters/platforms/slack/app.py).
PICK_IDS = re.compile(r"^closeloop\.pick(:\d+)?$")


@cache
def limits() -> dict[str, int]:
    """Each limit's value by name, read once from the conformance file."""
    if not LIMITS_FILE.is_file():
        pytest.fail(f"Slack's Block Kit limits are missing: expected {LIMITS_FILE}")
    raw = json.loads(LIMITS_FILE.read_text(encoding="utf-8"))
    return {name: entry["value"] for name, entry in raw.items() if isinstance(entry, dict)}


def limit(name: str) -> int:
    values = limits()
    assert name in values, f"{name} is not in {LIMITS_FILE.name}"
    return values[name]


# --- the checker -------------------------------------------------------------------------


def _text_length(node: object) -> int:
    if isinstance(node, dict):
        return sum(
            len(value) if key == "text" and isinstance(value, str) else _text_length(value)
            for key, value in node.items()
        )
    if isinstance(node, list):
        return sum(_text_length(item) for item in node)
    return 0


def _text(obj: dict[str, Any], max_name: str, kind: str | None = None) -> str:
    """A text object's text, checked: the right type, not empty, within `max_name`."""
    assert obj["type"] in ({kind} if kind else {"plain_text", "mrkdwn"}), obj
    text = obj["text"]
    assert isinstance(text, str) and text.strip(), f"empty text in {obj}"
    assert len(text) <= limit(max_name), f"{len(text)} characters > {max_name}: {text[:80]!r}"
    return text


def _check_element(element: dict[str, Any]) -> None:
    if "action_id" in element:
        assert 1 <= len(element["action_id"]) <= limit("element.action_id.max_chars")
    if element["type"] == "button":
        _text(element["text"], "button.text.max_chars", "plain_text")
        assert len(element.get("value", "")) <= limit("button.value.max_chars")
        assert len(element.get("url", "")) <= limit("button.url.max_chars")
        assert element.get("style") in (None, "primary", "danger")
    if element["type"] == "image":
        assert len(element["image_url"]) <= limit("image.image_url.max_chars")
        assert len(element["alt_text"]) <= limit("image.alt_text.max_chars")


def _check_block(block: dict[str, Any]) -> Iterator[str]:
    """Assert every limit that applies to one block; yield the action ids it holds."""
    assert len(block.get("block_id", "")) <= limit("block_id.max_chars")
    kind = block["type"]
    if kind == "header":
        _text(block["text"], "header.text.max_chars", "plain_text")
    elif kind == "section":
        assert "text" in block or "fields" in block, block
        if "text" in block:
            _text(block["text"], "section.text.max_chars")
        if "fields" in block:
            assert 1 <= len(block["fields"]) <= limit("section.fields.max_items")
            for field in block["fields"]:
                _text(field, "section.fields[].text.max_chars")
        if "accessory" in block:
            _check_element(block["accessory"])
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= limit("context.elements.max_items")
        for element in block["elements"]:
            if element["type"] == "image":
                _check_element(element)
            else:
                _text(element, "section.text.max_chars")
    elif kind == "context_actions":
        assert 1 <= len(block["elements"]) <= limit("context_actions.elements.max_items")
    elif kind == "actions":
        assert 1 <= len(block["elements"]) <= limit("actions.elements.max_items")
        for element in block["elements"]:
            _check_element(element)
    elif kind == "image":
        _check_element(block)
        if "title" in block:
            _text(block["title"], "image.title.max_chars", "plain_text")
    elif kind == "markdown":
        assert len(block["text"]) <= limit("markdown.text.max_chars")
    elif kind in ("data_visualization", "table"):
        assert block_errors(block) == [], block_errors(block)
    else:
        assert kind == "divider", f"unexpected block type {kind}"
    for element in [*block.get("elements", ()), block.get("accessory", {})]:
        if "action_id" in element:
            yield element["action_id"]


def check_blocks(blocks: list[dict[str, Any]], max_blocks: str) -> None:
    """Every applicable limit in the conformance file, over every block and element."""
    assert blocks, "nothing rendered"
    assert len(blocks) <= limit(max_blocks), f"{len(blocks)} blocks > {max_blocks}"
    action_ids = [action_id for block in blocks for action_id in _check_block(block)]
    assert len(action_ids) == len(set(action_ids)), f"repeated action ids: {action_ids}"


def check_message(message: SlackMessage) -> SlackMessage:
    check_blocks(message.blocks, "message.blocks.max_items")
    assert message_errors(message.blocks) == []
    assert message.text.strip()
    assert len(message.text) <= limit("section.text.max_chars")
    # msg_blocks_too_long: Slack's undocumented cap on a message's total text.
    assert _text_length(message.blocks) <= MESSAGE_TEXT_BUDGET
    return message


def check_home(view: dict[str, Any]) -> dict[str, Any]:
    assert view["type"] == "home"
    check_blocks(view["blocks"], "modal_or_home.blocks.max_items")
    View(**view).validate_json()
    return view


def sdk_validate(blocks: list[dict[str, Any]]) -> None:
    """slack_sdk's validators as a second opinion: they raise on what Slack would refuse.

    No released slack_sdk models the chart block; tests.slack_blocks checks those.
    """
    for block in blocks:
        if block["type"] == "data_visualization":
            continue
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


BROKEN: dict[str, list[dict[str, Any]]] = {
    "header too long": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    "header in mrkdwn": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
    "section too long": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}],
    "empty section": [{"type": "section", "text": {"type": "mrkdwn", "text": " "}}],
    "eleven fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
    "field too long": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
    "eleven notes": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "n"}] * 11}],
    "long block id": [{"type": "divider", "block_id": "b" * 256}],
    "51 blocks": [{"type": "divider"}] * 51,
    "26 buttons": [
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "b"}, "action_id": str(i)}
                for i in range(26)
            ],
        }
    ],
    "long button": [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "b" * 76},
                    "action_id": "a",
                    "value": "v" * 2001,
                }
            ],
        }
    ],
    "repeated action id": [
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "b"}, "action_id": "a"}
            ],
        }
    ]
    * 2,
}


@pytest.mark.parametrize("name", BROKEN)
def test_the_checker_catches_what_slack_would_refuse(name: str) -> None:
    with pytest.raises(AssertionError):
        check_blocks(BROKEN[name], "message.blocks.max_items")


# --- helpers -----------------------------------------------------------------------------


def of_type(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [block for block in blocks if block["type"] == kind]


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["text"]["text"] for block in of_type(blocks, "section") if "text" in block]


def field_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        field["text"] for block in of_type(blocks, "section") for field in block.get("fields", ())
    ]


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [element for block in of_type(blocks, "actions") for element in block["elements"]]


def everything_shown(blocks: list[dict[str, Any]]) -> str:
    """All the text a reader could see in the blocks, one string."""
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(texts)


ACTIONS = (
    Action("closeloop.refresh", "Refresh", {"command": "health acme"}, primary=True),
    Action("closeloop.share", "Share in channel", {"command": "health acme"}),
)


# --- each kind of content ----------------------------------------------------------------


def test_the_heading_is_a_header_block_and_the_fallback_text() -> None:
    message = check_message(render_message(Reply(heading="Acme Corp — health")))
    assert message.blocks == [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "Acme Corp — health", "emoji": True},
        }
    ]
    assert message.text == "Acme Corp — health"


def test_metrics_show_tone_value_trend_delta_and_detail() -> None:
    reply = Reply(
        heading="Acme Corp — health",
        metrics=(
            Metric(
                "Health score",
                "64/100",
                delta="+3 in 7 days",
                trend=Trend.UP,
                tone=Tone.WARNING,
                detail="yellow band",
            ),
            Metric("Risk", "41 %", trend=Trend.DOWN, tone=Tone.BAD),
            Metric("NPS", "+32", delta="±0", trend=Trend.FLAT, tone=Tone.GOOD),
            Metric("Accounts", "1,204"),
        ),
    )
    message = check_message(render_message(reply))
    assert field_texts(message.blocks) == [
        "*Health score*\n🟡 64/100\n↗ +3 in 7 days\nyellow band",
        "*Risk*\n🔴 41 % ↘",
        "*NPS*\n🟢 +32\n→ ±0",
        "*Accounts*\n1,204",
    ]
    assert len(of_type(message.blocks, "section")) == 1
    assert message.text == "Acme Corp — health\nHealth score: 64/100 (+3 in 7 days)"
    sdk_validate(message.blocks)


def test_more_than_ten_metrics_spread_over_sections() -> None:
    reply = Reply("KPIs", metrics=tuple(Metric(f"KPI {i}", str(i)) for i in range(23)))
    message = check_message(render_message(reply))
    sections = of_type(message.blocks, "section")
    assert [len(s["fields"]) for s in sections] == [10, 10, 3]
    assert field_texts(message.blocks)[22] == "*KPI 22*\n22"


def test_paragraphs_are_mrkdwn_sections_that_keep_code_spans() -> None:
    reply = Reply("Which account?", paragraphs=("Usage: `health <account>`.", "Second."))
    message = check_message(render_message(reply))
    assert section_texts(message.blocks) == ["Usage: `health &lt;account&gt;`.", "Second."]
    assert all(s["text"]["type"] == "mrkdwn" for s in of_type(message.blocks, "section"))
    assert message.text == "Which account?\nUsage: `health &lt;account&gt;`."


def test_facts_are_fields_with_a_bold_label() -> None:
    reply = Reply("Acme", facts=(Fact("Owner", "Jo Csm"), Fact("Segment", "enterprise")))
    message = check_message(render_message(reply))
    assert field_texts(message.blocks) == ["*Owner*\nJo Csm", "*Segment*\nenterprise"]
    sdk_validate(message.blocks)


def test_on_the_home_tab_a_table_is_an_aligned_code_block_under_its_title() -> None:
    table = Table(("Component", "Score"), (("Usage", "50"), ("Sentiment", "80")), title="Drivers")
    view = check_home(render_home([Reply("Acme", tables=(table,))]))
    assert section_texts(view["blocks"]) == [
        "*Drivers*\n```\nComponent  Score\n---------  -----\nUsage      50\nSentiment  80\n```"
    ]


def test_long_cells_are_shortened_and_backticks_cannot_close_the_code_block() -> None:
    table = Table(("Account", "Why"), (("A" * 100, "uses `code` " + "w" * 100),))
    (text,) = section_texts(check_home(render_home([Reply("T", tables=(table,))]))["blocks"])
    row = text.splitlines()[3]
    account, why = row.split("  ")
    assert account == "A" * 39 + "…"
    assert len(why) == 80 and why.startswith("uses ˋcodeˋ www") and why.endswith("…")
    assert text.count("```") == 2


def test_notes_are_one_context_block() -> None:
    reply = Reply("Acme", notes=("Provisional.", "Shared by Jo"))
    message = check_message(render_message(reply))
    (context,) = of_type(message.blocks, "context")
    assert [e["text"] for e in context["elements"]] == ["Provisional.", "Shared by Jo"]


def test_actions_are_buttons_carrying_their_payload() -> None:
    message = check_message(render_message(Reply("Acme", actions=ACTIONS)))
    assert message.blocks[-1] == {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Refresh", "emoji": True},
                "action_id": "closeloop.refresh",
                "value": '{"command":"health acme"}',
                "style": "primary",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Share in channel", "emoji": True},
                "action_id": "closeloop.share",
                "value": '{"command":"health acme"}',
            },
        ],
    }
    sdk_validate(message.blocks)


def test_blocks_come_in_reading_order_with_buttons_last() -> None:
    reply = Reply(
        heading="H",
        paragraphs=("P",),
        metrics=(Metric("M", "1"),),
        facts=(Fact("F", "1"),),
        tables=(Table(("T",), (("1",),)),),
        notes=("N",),
        actions=ACTIONS[:1],
    )
    message = check_message(render_message(reply))
    kinds = [block["type"] for block in message.blocks]
    assert kinds == ["header", "section", "section", "section", "table", "context", "actions"]
    shown = everything_shown(message.blocks)
    assert shown.index("*M*") < shown.index("P") < shown.index("*F*") < shown.index("N")


# --- a realistic answer ------------------------------------------------------------------


def test_a_health_answer_reads_like_the_command_output() -> None:
    reply = health_answer()
    reply = dataclasses.replace(reply, actions=ACTIONS)
    message = check_message(render_message(reply))
    sdk_validate(message.blocks)
    assert message.blocks[0]["text"]["text"] == "Acme Corp — health"
    assert field_texts(message.blocks)[0] == (
        "*Health score*\n🟡 58/100\n↘ -3 in 7 days, -9 in 30 days\nyellow band"
    )
    assert "*Owner*\nJo Csm" in field_texts(message.blocks)
    (table,) = of_type(message.blocks, "table")
    rows = [[cell["text"] for cell in row] for row in table["rows"]]
    assert rows[0] == ["Component", "Score", "Weight", "Points", "Why"]
    assert rows[1][:4] == ["Sentiment", "80", "35%", "28.0"]
    assert ["Usage", "40", "40%", "16.0", "31 of 100 seats active in 30 days, down 22 %"] in rows
    assert not [t for t in section_texts(message.blocks) if "```" in t]
    (context,) = of_type(message.blocks, "context")
    assert context["elements"][0]["text"].startswith("No data for engagement")
    assert [b["text"]["text"] for b in buttons(message.blocks)] == ["Refresh", "Share in channel"]
    assert message.text == (
        "Acme Corp — health\nHealth score: 58/100 (-3 in 7 days, -9 in 30 days)"
    )
    assert OMITTED not in everything_shown(message.blocks)


# --- huge replies ------------------------------------------------------------------------


@cache
def words() -> str:
    """About 35,000 characters of numbered words, to see where a long text is cut."""
    return " ".join(f"word{i}" for i in range(4000))


# Built when a test asks, not at import.
HUGE: dict[str, Callable[[], Reply]] = {
    "200 facts": lambda: Reply(
        "Facts", facts=tuple(Fact(f"Fact {i}", f"value {i}") for i in range(200))
    ),
    "500-row table": lambda: Reply(
        "Table",
        tables=(
            Table(
                ("Account", "Why", "ARR"),
                tuple((f"Account {i}", "x" * 60, f"${i}k") for i in range(500)),
                title="All accounts",
            ),
        ),
    ),
    "30 buttons": lambda: Reply(
        "Buttons", actions=tuple(Action(f"a.{i}", f"Go {i}") for i in range(30))
    ),
    "20k-char paragraph": lambda: Reply("Essay", paragraphs=(words()[:20_000],)),
    "100 notes": lambda: Reply("Notes", notes=tuple(f"Note {i}." for i in range(100))),
    "400-char heading": lambda: Reply("H" * 400),
    "60 paragraphs": lambda: Reply("Many", paragraphs=tuple(f"Paragraph {i}." for i in range(60))),
    "all at once": lambda: Reply(
        heading="Everything " * 40,
        metrics=tuple(Metric(f"M{i}", str(i), delta="+1", trend=Trend.UP) for i in range(25)),
        paragraphs=(words()[:20_000], *(f"Paragraph {i}." for i in range(60))),
        facts=tuple(Fact(f"Fact {i}", "v" * 3000) for i in range(200)),
        tables=tuple(
            Table(("A", "B"), tuple((f"{t}-{i}", "b" * 80) for i in range(500))) for t in range(5)
        ),
        notes=tuple("n" * 500 for _ in range(100)),
        actions=tuple(Action("closeloop.pick", f"Pick account number {i} " * 5) for i in range(30)),
    ),
}


@pytest.mark.parametrize("name", HUGE)
def test_huge_replies_stay_within_limits_and_keep_heading_and_buttons(name: str) -> None:
    reply = HUGE[name]()
    message = check_message(render_message(reply))
    header = message.blocks[0]
    assert header["type"] == "header"
    assert header["text"]["text"].startswith(reply.heading.strip()[:100])
    assert len(buttons(message.blocks)) == len(reply.actions)
    if reply.metrics:
        assert field_texts(message.blocks)[0] == "*M0*\n0\n↗ +1"
    sdk_validate(message.blocks)


def test_a_long_heading_is_cut_with_an_ellipsis() -> None:
    text = check_message(render_message(HUGE["400-char heading"]())).blocks[0]["text"]["text"]
    assert text == "H" * 149 + "…"


def test_200_facts_are_all_shown_ten_to_a_section() -> None:
    message = check_message(render_message(HUGE["200 facts"]()))
    assert len(of_type(message.blocks, "section")) == 20
    assert field_texts(message.blocks)[199] == "*Fact 199*\nvalue 199"


def test_a_500_row_table_shows_its_first_rows_and_counts_the_rest() -> None:
    message = check_message(render_message(HUGE["500-row table"]()))
    (text,) = section_texts(message.blocks)
    lines = text.splitlines()
    assert lines[0] == "*All accounts*"
    assert lines[4] == "Account 0    " + "x" * 39 + "…  $0k"
    shown = sum(1 for line in lines if re.match(r"Account \d", line))
    assert shown > 10
    assert lines[-2] == "```" and lines[-1] == f"… {500 - shown} more rows"


def test_30_buttons_spread_over_two_actions_blocks() -> None:
    message = check_message(render_message(HUGE["30 buttons"]()))
    assert [len(b["elements"]) for b in of_type(message.blocks, "actions")] == [25, 5]
    assert buttons(message.blocks)[29]["text"]["text"] == "Go 29"


def test_a_long_paragraph_splits_between_words_and_says_what_was_left_out() -> None:
    message = check_message(render_message(HUGE["20k-char paragraph"]()))
    chunks = section_texts(message.blocks)
    assert len(chunks) >= 2
    assert chunks[0].startswith("word0 word1 ")
    expected = words().split()
    shown = " ".join(chunks).split()
    assert shown == expected[: len(shown)]  # nothing cut mid-word, nothing reordered
    assert OMITTED in message.blocks[-1]["elements"][0]["text"]
    assert len(message.text) <= 3000 and message.text.startswith("Essay\nword0 word1")


def test_100_notes_merge_into_ten_context_elements() -> None:
    message = check_message(render_message(HUGE["100 notes"]()))
    (context,) = of_type(message.blocks, "context")
    texts = [element["text"] for element in context["elements"]]
    assert texts[0] == "Note 0." and texts[8] == "Note 8."
    assert texts[9].startswith("Note 9.\nNote 10.") and texts[9].endswith("Note 99.")


def test_too_many_blocks_drop_the_last_details_but_keep_what_matters() -> None:
    reply = Reply(
        heading="Many",
        metrics=(Metric("Score", "50"),),
        paragraphs=tuple(f"Paragraph {i}." for i in range(80)),
        actions=ACTIONS,
    )
    message = check_message(render_message(reply))
    kinds = [block["type"] for block in message.blocks]
    assert len(kinds) == 50
    assert kinds[:3] == ["header", "section", "section"] and kinds[-2:] == ["context", "actions"]
    assert field_texts(message.blocks) == ["*Score*\n50"]
    paragraphs = section_texts(message.blocks)
    assert paragraphs == [f"Paragraph {i}." for i in range(len(paragraphs))]
    assert OMITTED in message.blocks[-2]["elements"][0]["text"]


def test_a_reply_that_fits_has_no_omission_note() -> None:
    for name in ("200 facts", "30 buttons", "100 notes", "400-char heading"):
        assert OMITTED not in everything_shown(render_message(HUGE[name]()).blocks), name


# --- escaping ----------------------------------------------------------------------------


def test_user_data_is_escaped_wherever_it_is_mrkdwn() -> None:
    name = "<script>&"
    reply = Reply(
        heading=f"{name} — health",
        metrics=(Metric("Health", "50", detail=f"owner {name}"),),
        paragraphs=(f"“Great tool” — {name}",),
        facts=(Fact("Account", name),),
        tables=(Table(("Account",), ((name,),), title=name),),
        notes=(f"Shared by {name}",),
        actions=(Action("closeloop.pick", name, {"account": name}),),
    )
    message = check_message(render_message(reply))
    assert message.blocks[0]["text"]["text"] == "<script>& — health"  # plain_text: as is
    assert buttons(message.blocks)[0]["text"]["text"] == "<script>&"
    mrkdwn = [
        element["text"]
        for block in message.blocks[1:]
        for element in (*block.get("fields", ()), block.get("text"), *block.get("elements", ()))
        if element and element["type"] == "mrkdwn"
    ]
    assert len(mrkdwn) == 5  # metric, paragraph, fact, table, note
    assert all("&lt;script&gt;&amp;" in text and "<" not in text for text in mrkdwn)
    assert message.text == "&lt;script&gt;&amp; — health\nHealth: 50"
    assert parse_button_value(buttons(message.blocks)[0]["value"]) == {"account": name}


def test_cutting_escaped_text_never_splits_an_entity() -> None:
    message = check_message(render_message(Reply("E", paragraphs=("&" * 5000,))))
    for text in section_texts(message.blocks):
        assert re.fullmatch(r"(&amp;)+", text), text[-10:]


# --- buttons -----------------------------------------------------------------------------


def test_button_values_are_compact_sorted_json_that_round_trips() -> None:
    payload = {"z": "last", "account": "Acme & “Co”", "command": "health acme"}
    value = button_value(payload)
    assert value == '{"account":"Acme & “Co”","command":"health acme","z":"last"}'
    assert parse_button_value(value) == payload
    assert button_value({}) == "{}" and parse_button_value("{}") == {}


@pytest.mark.parametrize(
    "garbage",
    ["", "not json", "[]", "null", "42", '"text"', '{"a": 1}', '{"a": {"b": "c"}}', "[" * 100_000],
)
def test_parsing_a_value_nobody_made_gives_an_empty_payload(garbage: str) -> None:
    assert parse_button_value(garbage) == {}


def test_a_payload_too_large_for_a_button_is_refused() -> None:
    assert len(button_value({"k": "v" * 1990})) == 1998
    with pytest.raises(ValueError, match="2000"):
        button_value({"k": "v" * 2000})
    with pytest.raises(ValueError, match="2000"):
        render_message(Reply("Big", actions=(Action("a", "A", {"k": "v" * 2000}),)))


def test_repeated_action_ids_get_a_suffix_the_adapter_can_strip() -> None:
    picks = tuple(Action("closeloop.pick", f"Acme {i}", {"account": str(i)}) for i in range(3))
    message = check_message(render_message(Reply("Which one?", actions=picks)))
    ids = [button["action_id"] for button in buttons(message.blocks)]
    assert ids == ["closeloop.pick", "closeloop.pick:1", "closeloop.pick:2"]
    assert all(PICK_IDS.fullmatch(i) for i in ids)
    assert {i.split(":", 1)[0] for i in ids} == {"closeloop.pick"}
    values = [parse_button_value(button["value"]) for button in buttons(message.blocks)]
    assert values == [{"account": "0"}, {"account": "1"}, {"account": "2"}]


def test_a_suffix_never_takes_an_id_another_button_uses() -> None:
    actions = (Action("x", "A"), Action("x", "B"), Action("x:1", "C"))
    ids = [b["action_id"] for b in buttons(render_message(Reply("T", actions=actions)).blocks)]
    assert ids == ["x", "x:2", "x:1"]


def test_an_action_id_slack_cannot_take_is_refused() -> None:
    with pytest.raises(ValueError, match="255"):
        render_message(Reply("T", actions=(Action("a" * 256, "A"),)))


def test_long_button_labels_are_cut() -> None:
    message = check_message(render_message(Reply("T", actions=(Action("a", "Label " * 30),))))
    text = buttons(message.blocks)[0]["text"]["text"]
    assert len(text) == 75 and text.endswith("…") and text.startswith("Label Label")


# --- the home tab ------------------------------------------------------------------------


def test_a_home_view_separates_replies_with_dividers() -> None:
    replies = [health_answer(), Reply("Your open follow-ups", paragraphs=("Nothing is waiting.",))]
    view = check_home(render_home(replies))
    kinds = [block["type"] for block in view["blocks"]]
    assert kinds.count("divider") == 1 and kinds.count("header") == 2
    assert kinds.index("divider") < kinds.index("header", 1)
    assert section_texts(view["blocks"])[-1] == "Nothing is waiting."
    assert OMITTED not in everything_shown(view["blocks"])


def test_a_crowded_home_view_stays_within_100_blocks() -> None:
    replies = [
        Reply(
            heading=f"Section {n}",
            metrics=(Metric("Accounts", str(n)),),
            paragraphs=tuple(f"Line {n}.{i}" for i in range(6)),
            actions=(Action("closeloop.refresh", "Refresh", {"command": f"home {n}"}),),
        )
        for n in range(20)
    ]
    view = check_home(render_home(replies))
    blocks = view["blocks"]
    assert len(blocks) <= 100
    headers = [b["text"]["text"] for b in of_type(blocks, "header")]
    assert headers[:3] == ["Section 0", "Section 1", "Section 2"]
    # Every reply that is shown keeps its heading, headline metric and buttons.
    assert len(buttons(blocks)) == len(headers) == len(field_texts(blocks))
    assert "Line 0.5" in section_texts(blocks)
    assert OMITTED in blocks[-1]["elements"][0]["text"]
    ids = [b["action_id"] for b in buttons(blocks)]
    assert ids[:3] == ["closeloop.refresh", "closeloop.refresh:1", "closeloop.refresh:2"]


def test_a_home_view_of_huge_replies_stays_within_limits() -> None:
    view = check_home(render_home([make() for make in HUGE.values()]))
    assert view["blocks"][0]["text"]["text"] == "Facts"


# --- determinism -------------------------------------------------------------------------


def test_the_same_reply_renders_to_the_same_json() -> None:
    for reply in (health_answer(), HUGE["all at once"]()):
        first, second = render_message(reply), render_message(reply)
        assert json.dumps(first.blocks) == json.dumps(second.blocks)
        assert first.text == second.text
    assert json.dumps(render_home([make() for make in HUGE.values()])) == json.dumps(
        render_home([make() for make in HUGE.values()])
    )


def test_a_reply_that_is_not_an_answer_says_so_in_its_header_and_notification() -> None:
    for outcome in (Outcome.PROBLEM, Outcome.FAILURE):
        reply = Reply("No account matches “acmee”", paragraphs=("Did you mean Acme Corp?",))
        message = check_message(render_message(dataclasses.replace(reply, outcome=outcome)))
        (header,) = of_type(message.blocks, "header")
        assert header["text"]["text"] == "⚠️ No account matches “acmee”"
        assert message.text.startswith("⚠️ No account matches “acmee”")
    answer = check_message(render_message(Reply("Acme Corp — health")))
    assert of_type(answer.blocks, "header")[0]["text"]["text"] == "Acme Corp — health"
