"""What a CS leader reads about a handful of answers: a score and "too few answers for an
interval", never a zero-width interval that claims certainty; enough answers, a real one."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from typing import cast

import pandas as pd

from bot.args import Period
from bot.formatting import TOO_FEW_FOR_INTERVAL
from bot.handlers.nps import nps_reply
from bot.messages.digest import _nps_line
from bot.reply import Reply
from metrics_core.digests.facts import DigestFacts
from metrics_core.followups.closed_loop import NO_FOLLOW_UPS, ClosedLoop
from metrics_core.store.frames import SURVEY_COLUMNS
from metrics_core.store.models import AnswerBand
from metrics_core.surveys.nps import nps
from metrics_core.surveys.report import survey_scores

JUNE = Period(dt.date(2026, 6, 1), dt.date(2026, 7, 1), "June 2026")
NO_LOOP = ClosedLoop(24, (AnswerBand.DETRACTOR,), NO_FOLLOW_UPS, (), ())
# "95 % CI +3 to +26", "95 % CI 48–95 %", "95 % CI 5.2–6.8": the two bounds of an interval.
BOUNDS = re.compile(r"95 % CI ([-+]?[\d.]+)(?: to |–)([-+]?[\d.]+)")


def answers(*rows: tuple[str, int, str]) -> pd.DataFrame:
    """Survey answers of June 2026 as the query returns them: (kind, score, owner) each."""
    when = pd.Timestamp("2026-06-10 09:00", tz="UTC")
    return pd.DataFrame(
        [
            (i, kind, score, None, when, "Jo", "jo@acme.example", 1, "Acme Corp", "SMB", owner)
            for i, (kind, score, owner) in enumerate(rows)
        ],
        columns=list(SURVEY_COLUMNS),
    )


def reply_for(frame: pd.DataFrame) -> Reply:
    scores = survey_scores(frame, start=JUNE.start, end=JUNE.end, loop=NO_LOOP, by_segment=True)
    return nps_reply("Acme Corp", JUNE, scores)


def every_text(reply: Reply) -> list[str]:
    texts = [metric.detail or "" for metric in reply.metrics]
    texts += [fact.value for fact in reply.facts]
    texts += [" ".join(row) for table in reply.tables for row in table.rows]
    return texts


def no_zero_width_interval(texts: list[str]) -> None:
    for text in texts:
        for low, high in BOUNDS.findall(text):
            assert float(low) < float(high), f"zero-width interval in {text!r}"


def test_a_few_answers_show_scores_with_too_few_answers_for_an_interval() -> None:
    # The case that read "CES 4.0 of 7 (95 % CI 4.0–4.0, n = 2)" and an NPS of −100 from
    # one answer with an interval of −100 to −100.
    reply = reply_for(
        answers(("nps", 0, "Dana"), ("csat", 5, "Dana"), ("ces", 4, "Dana"), ("ces", 4, "Dana"))
    )
    facts = {fact.label: fact.value for fact in reply.facts}
    assert reply.metrics[0].value == "-100"
    assert reply.metrics[0].detail == f"{TOO_FEW_FOR_INTERVAL}, n = 1"
    assert facts["CSAT"] == f"100 % satisfied ({TOO_FEW_FOR_INTERVAL}, n = 1)"
    assert facts["CES"] == f"4.0 of 7 ({TOO_FEW_FOR_INTERVAL}, n = 2)"
    by_csm = next(table for table in reply.tables if table.title == "By CSM (worst first)")
    assert by_csm.rows == (("Dana", "-100", TOO_FEW_FOR_INTERVAL, "1"),)
    no_zero_width_interval(every_text(reply))


def test_enough_identical_answers_get_a_real_interval() -> None:
    reply = reply_for(
        answers(
            *[("nps", 10, "Dana")] * 5,
            *[("csat", 5, "Dana")] * 5,
            *[("ces", 6, "Dana")] * 5,
            ("nps", 3, "Sam"),
        )
    )
    no_zero_width_interval(every_text(reply))
    detail = reply.metrics[0].detail or ""
    assert detail.startswith("95 % CI ") and detail.endswith(", n = 6"), detail
    facts = {fact.label: fact.value for fact in reply.facts}
    assert facts["CES"] == "6.0 of 7 (95 % CI 5.2–6.8, n = 5)"
    assert facts["CSAT"] == "100 % satisfied (95 % CI 51–100 %, n = 5)"
    by_csm = next(table for table in reply.tables if table.title == "By CSM (worst first)")
    assert by_csm.rows == (
        ("Sam", "-100", TOO_FEW_FOR_INTERVAL, "1"),
        ("Dana", "+100", "+17 to +100", "5"),
    )


def test_the_note_names_the_methods_and_the_minimum() -> None:
    (note,) = reply_for(answers(("nps", 9, "Dana"))).notes
    assert "adjusted Wald" in note
    assert "Agresti–Coull" in note
    assert "none below 5 answers" in note
    assert "trinomial" not in note


def digest_line(scores: list[int]) -> str | None:
    facts = cast(DigestFacts, SimpleNamespace(nps=nps(scores)))
    return _nps_line(facts, 7)


def test_the_digest_reports_a_few_answers_without_an_interval() -> None:
    # It used to leave the line out (and call the week quiet) when there was no interval.
    assert digest_line([10, 10]) == (
        f"NPS this week: +100 ({TOO_FEW_FOR_INTERVAL}, n = 2; 2 promoters, 0 detractors)."
    )
    assert digest_line([]) is None


def test_the_digest_shows_the_default_interval() -> None:
    line = digest_line([10, 10, 9, 9, 10])
    assert line == "NPS this week: +100 (95 % CI +17 to +100, n = 5; 5 promoters, 0 detractors)."
