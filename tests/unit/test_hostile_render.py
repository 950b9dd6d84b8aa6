"""Text from customers renders as text on every surface: no mentions, links or markup.

Account names, survey comments and respondent names come from CSV files and survey tools.
Whatever they hold, Slack must not notify a channel or show a link whose text hides its
target, a Teams card must stay a valid card whose text is not read as markdown, and the
terminal must not run control sequences; and each surface must still show what was
written, character for character. Slack's rule is its own ("Formatting text for app
surfaces": `&`, `<` and `>` are control characters, sent as `&amp;`, `&lt;`, `&gt;`);
Adaptive Cards read a CommonMark subset in TextBlocks and facts (bold, italic, lists,
links: learn.microsoft.com, "Text features" and "Format cards in Teams") and take
CommonMark's backslash escapes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.platforms.console import render_text as console_text
from adapters.platforms.slack.render import render_home, render_message
from adapters.platforms.teams.render import render_card
from bot.actions import CLAIM
from bot.messages.alerts import close_form
from bot.reply import Action, Chart, ChartKind, Fact, Metric, Reply, Series, Table
from tests.hostile import MARKUP, MASS_MENTIONS, SQL, examples, hostile_text
from tests.slack_blocks import block_errors
from tests.unit.test_teams_render import nodes, of_type, schema_errors

# --- what each surface would act on ------------------------------------------------------

_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_LIST_LINE = re.compile(r"(?:^|(?<=[\r\n]))[ \t]*(?:[-+*]|\d+[.)])(?:[ \t\r\n]|$)")


def slack_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """The text of every mrkdwn object: what Slack parses for mentions and links."""
    return [n["text"] for n in nodes(blocks) if n.get("type") == "mrkdwn"]


def slack_unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def assert_slack_inert(text: str) -> None:
    """No control sequence (`<…>`) and no `&` that is not one of the three entities."""
    assert "<" not in text and ">" not in text, text
    assert not _ENTITY.search(text), text


def card_texts(card: dict[str, Any]) -> list[str]:
    """Every string Teams reads as markdown: TextBlock text, fact titles and values."""
    texts = [block["text"] for block in of_type(card, "TextBlock")]
    for fact_set in of_type(card, "FactSet"):
        texts += [part for fact in fact_set["facts"] for part in (fact["title"], fact["value"])]
    return texts


def card_unescaped(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


def assert_markdown_inert(text: str) -> None:
    """Nothing left that the Adaptive Card markdown subset (or its date functions) reads.

    Escaped characters are taken out first; what remains must hold no emphasis marker, no
    `](` that opens a link, no list marker at a line's start and no `{{` of a DATE/TIME.
    """
    bare = _ESCAPED.sub("", text)
    assert "*" not in bare and "_" not in bare, text
    assert "](" not in text, text
    assert not _LIST_LINE.search(bare), text
    assert "{{" not in text, text


def assert_terminal_inert(text: str) -> None:
    """No control character but the line break and the tab reaches the terminal."""
    controls = {c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"} | {
        c for c in text if c in "\u2028\u2029"
    }
    assert not controls, sorted(map(hex, map(ord, controls)))


def everywhere(text: str) -> Reply:
    """A reply with `text` in every place a reply can carry customer data."""
    return Reply(
        heading=text,
        paragraphs=(text,),
        metrics=(Metric(label=text, value=text, delta=text, detail=text),),
        facts=(Fact(text or "x", text),),
        tables=(Table(columns=("Account", "Comment"), rows=((text, text),), title=text),),
        charts=(
            Chart(
                title=text,
                kind=ChartKind.LINE,
                categories=("a", "b"),
                series=(Series(text, (1.0, 2.0)),),
                summary=f"Summary: {text}",
            ),
        ),
        notes=(text,),
        actions=(Action(CLAIM, text or "Claim", {"follow_up": "1"}, form=close_form(["won"])),),
    )


# --- the named attacks, one by one --------------------------------------------------------


def test_slack_shows_mentions_links_and_html_as_the_text_they_are() -> None:
    for text in MARKUP:
        message = render_message(everywhere(f"Acme {text} Corp"))
        for shown in [*slack_texts(message.blocks), message.text]:
            assert_slack_inert(shown)
        paragraph = message.blocks[2]["text"]["text"]
        assert slack_unescaped(paragraph) == f"Acme {text} Corp"


def test_slack_never_notifies_a_channel_from_customer_text() -> None:
    reply = Reply(
        heading="NPS detractor: <!channel>",
        paragraphs=("“<!here> call me <@U0CSM1> <http://evil.example|Acme invoice>”",),
        facts=(Fact("Respondent", "<!everyone> <jane@acme.example>"),),
    )
    message = render_message(reply)
    shown = "\n".join([*slack_texts(message.blocks), message.text])
    for mention in (*MASS_MENTIONS, "<@U0CSM1>", "<http://evil.example|"):
        assert mention not in shown
    assert "&lt;!here&gt; call me &lt;@U0CSM1&gt; &lt;http://evil.example|Acme invoice&gt;" in (
        shown
    )


def test_cards_show_markdown_and_html_as_the_text_they_are() -> None:
    for text in MARKUP:
        card = render_card(everywhere(f"Acme {text} Corp"))
        assert schema_errors(card) == []
        for shown in card_texts(card):
            assert_markdown_inert(shown)
        paragraphs = [b["text"] for b in of_type(card, "TextBlock")]
        assert f"Acme {text} Corp" in [card_unescaped(p) for p in paragraphs]


def test_a_card_link_in_a_comment_is_no_link() -> None:
    reply = Reply(
        heading="NPS detractor: Acme Corp",
        paragraphs=("“Pay here: [Acme invoice](http://evil.example) **now**”",),
        facts=(Fact("Respondent", "[Jane](http://evil.example) _Doe_"),),
    )
    card = render_card(reply)
    texts = card_texts(card)
    assert not [t for t in texts if "](" in t]
    assert "“Pay here: [Acme invoice](http://evil.example) **now**”" in map(card_unescaped, texts)
    assert "[Jane](http://evil.example) _Doe_" in map(card_unescaped, texts)


def test_the_terminal_shows_control_sequences_as_visible_text() -> None:
    shown = console_text(everywhere("Acme \x1b[2J\x1b[31mCorp\x07 \x9b31m"))
    assert_terminal_inert(shown)
    assert "Acme \\x1b[2J\\x1b[31mCorp\\x07 \\x9b31m" in shown


def test_the_terminal_keeps_line_breaks_and_markup_as_they_are() -> None:
    shown = console_text(Reply(heading="h", paragraphs=(f"<b>{SQL}</b>\r\n**x** <!here>",)))
    assert f"<b>{SQL}</b>\n**x** <!here>" in shown


# --- the same, for any text ---------------------------------------------------------------


@settings(max_examples=examples(150))
@given(text=hostile_text())
def test_any_text_is_inert_in_slack(text: str) -> None:
    reply = everywhere(text)
    message = render_message(reply)
    for shown in [*slack_texts(message.blocks), message.text]:
        assert_slack_inert(shown)
    for shown in slack_texts(render_home([reply])["blocks"]):
        assert_slack_inert(shown)
    if text.strip() and len(text) < 1000:
        sections = [
            b["text"]["text"] for b in message.blocks if b["type"] == "section" and "text" in b
        ]
        assert any(slack_unescaped(s).strip() == text.strip() for s in sections), sections


@settings(max_examples=examples(60))
@given(text=hostile_text())
def test_any_text_is_inert_and_valid_in_a_card(text: str) -> None:
    card = render_card(everywhere(text))
    assert schema_errors(card) == []
    for shown in card_texts(card):
        assert_markdown_inert(shown)
    if text.strip():
        paragraphs = [card_unescaped(b["text"]) for b in of_type(card, "TextBlock")]
        assert text.strip() in paragraphs


@settings(max_examples=examples(150))
@given(text=hostile_text())
def test_any_text_is_inert_in_the_terminal(text: str) -> None:
    assert_terminal_inert(console_text(everywhere(text)))


@settings(max_examples=examples(50))
@given(texts=st.lists(hostile_text(max_parts=3), min_size=1, max_size=4))
def test_tables_of_any_text_stay_tables(texts: list[str]) -> None:
    table = Table(columns=tuple(f"c{i}" for i in range(len(texts))), rows=(tuple(texts),) * 3)
    reply = Reply(heading="Accounts", tables=(table,))
    # In a message: Slack's table block, whose raw_text cells are shown as written (no
    # mrkdwn is parsed in them), each text on one line, a blank one as a dash.
    message = render_message(reply)
    (block,) = [b for b in message.blocks if b["type"] == "table"]
    assert block_errors(block) == []
    cells = [[cell["text"] for cell in row] for row in block["rows"][1:]]
    assert cells == [[" ".join(text.split()) or "—" for text in texts]] * 3
    for shown in slack_texts(message.blocks):
        assert_slack_inert(shown)
    # On the Home tab: monospace text.
    for shown in slack_texts(render_home([reply])["blocks"]):
        assert_slack_inert(shown)
        assert shown.count("```") == 2, shown  # a backtick in a cell never ends the block
    card = render_card(reply)
    assert schema_errors(card) == []
    for shown in card_texts(card):
        assert_markdown_inert(shown)
