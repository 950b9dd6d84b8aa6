"""The plain-text renderer shows everything a reply holds, aligned."""

from __future__ import annotations

import pytest

from adapters.platforms.console import render_text
from bot.catalog import build_registry
from bot.handlers.help import command_table
from bot.reply import Action, Fact, Metric, Reply, Table, Tone, Trend


def test_every_part_of_a_reply_is_rendered() -> None:
    reply = Reply(
        heading="Acme Corp — health",
        metrics=(Metric("Health score", "64/100", delta="+3 in 7 days", tone=Tone.WARNING),),
        paragraphs=("Usage is down.",),
        facts=(Fact("Owner", "Jo"), Fact("Segment", "Enterprise")),
        tables=(Table(("Component", "Score"), (("Usage", "50"), ("Sentiment", "80"))),),
        notes=("Provisional.",),
        actions=(Action("refresh", "Refresh"),),
    )
    text = render_text(reply)
    assert text.splitlines()[:2] == ["Acme Corp — health", "=================="]
    assert "! Health score: 64/100 (+3 in 7 days)" in text
    assert "Owner    Jo" in text and "Segment  Enterprise" in text
    assert "Component  Score\n---------  -----\nUsage      50\nSentiment  80" in text
    assert "Note: Provisional." in text and "[Refresh]" in text


def test_a_table_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells"):
        Table(("a", "b"), (("only one",),))


def test_action_payloads_cannot_change_after_creation() -> None:
    action = Action("claim", "Claim", {"follow_up": "1"})
    with pytest.raises(TypeError):
        action.payload["follow_up"] = "2"  # type: ignore[index]


def test_tone_marks_cannot_be_read_as_a_direction_and_trends_keep_their_arrows() -> None:
    """A bad score that fell 15 points: `▼ … (-15)` read as "down" whatever it meant."""
    reply = Reply(
        heading="Acme Corp — health",
        metrics=(
            Metric("Health score", "35/100", "-15 in 7 days", Trend.DOWN, Tone.BAD, "red band"),
            Metric("NRR", "104.0 %", tone=Tone.GOOD),
            Metric("GRR", "88.0 %", "+2 pts", Trend.UP, Tone.WARNING),
        ),
    )
    lines = render_text(reply).splitlines()
    assert lines[2] == "✗ Health score: 35/100 (↘ -15 in 7 days) — red band"
    assert lines[3] == "✓ NRR: 104.0 %"
    assert lines[4] == "! GRR: 88.0 % (↗ +2 pts)"
    assert not set("▲▼△▽↑↓") & set("".join(lines))


def test_help_reads_at_100_columns() -> None:
    """Every row of the command list, as the terminal and Slack's code block show it."""
    table = command_table(build_registry())
    widest = max(len(line) for line in render_text(Reply("Help", tables=(table,))).splitlines())
    assert widest <= 100
