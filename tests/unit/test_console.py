"""The plain-text renderer shows everything a reply holds, aligned."""

from __future__ import annotations

import pytest

from adapters.console import render_text
from bot.reply import Action, Fact, Metric, Reply, Table, Tone


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
    assert "▲ Health score: 64/100 (+3 in 7 days)" in text
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
