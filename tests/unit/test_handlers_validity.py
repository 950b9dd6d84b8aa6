"""`health validity`, `nps insights` and "This score looks wrong" on a fake reader.

Each test gives the query's result by hand and checks what a CS leader reads: counts beside
every rate, "not enough" said plainly, a suggestion that says nothing changed, and the
button that stores one row per submission and thanks the clicker alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.actions import SCORE_WRONG
from bot.clicks import Answer, Delivery, ShowForm
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.reply import Outcome, Reply, Tone
from bot.router import Router
from metrics_core.accounts.lookup import AccountRef, Resolution
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.churn.evaluation import AucEstimate
from metrics_core.health.feedback import (
    MAX_REASON_CHARS,
    Borne,
    Direction,
    FeedbackResult,
    FeedbackSummary,
    Stored,
    record_feedback,
)
from metrics_core.health.report import AccountHealth, health_report
from metrics_core.health.scorecard import Band, Component, HealthResult
from metrics_core.health.validity import (
    BandChurn,
    ComponentSignal,
    OutOfTime,
    ValidityReport,
    health_validity,
)
from metrics_core.proportions import Difference, Rate
from metrics_core.revenue.outcomes import RenewalOutcome
from metrics_core.store.models import AnswerBand, LifecycleStage, Segment, TeamRole
from metrics_core.surveys.insights import BandOutcomes, Comparison, NpsInsights, nps_insights
from tests.fakes.reader import FakeReader
from tests.routing import offline_context

TODAY = dt.date(2026, 11, 20)
ME = Actor(Platform.SLACK, user_id="U0CSM1", display_name="dana")
DANA = Member(1, "Dana Whitfield", TeamRole.CSM)
ACME = AccountRef(
    1, "ACME", "Acme Corp", "acme.example", Segment.ENTERPRISE, 100, LifecycleStage.MATURE, None
)
NOBODY = Borne(0, 0, 0)
QUIET = FeedbackSummary(TODAY, TODAY, 0, 0, 0, 0, 0, 0, NOBODY, NOBODY)


def _router(reader: FakeReader) -> Router:
    return Router(offline_context(reader, today=TODAY))


async def _ask(text: str, reader: FakeReader) -> Reply:
    return await _router(reader).handle(CommandRequest.parse(text, ME))


def _component(
    name: str, auc: tuple[float, float, float], weight: float, suggested: float
) -> ComponentSignal:
    """A component whose AUC (estimate, low, high) rests on 30 churned and 170 renewed."""
    return ComponentSignal(name, weight, suggested, 200, AucEstimate(auc[0], 30, 170, *auc[1:]))


REPORT = ValidityReport(
    as_of=TODAY,
    segment=Segment.SMB,
    since=TODAY - dt.timedelta(days=730),
    renewals=200,
    churned=30,
    too_early=40,
    overall=Rate.of(30, 200),
    bands=(
        BandChurn(Band.RED, Rate.of(9, 15)),
        BandChurn(Band.YELLOW, Rate.of(12, 60)),
        BandChurn(Band.GREEN, Rate.of(9, 125)),
    ),
    auc=AucEstimate(0.78, 30, 170, 0.69, 0.85),
    red_lift=(9 / 15) / (30 / 200),
    components=(
        _component("usage", (0.74, 0.64, 0.82), 30, 41),
        _component("support", (0.52, 0.41, 0.62), 15, 0),
    ),
    weights_total=100,
    own_segment_weights=(),
    suggestion_missing=None,
    out_of_time=OutOfTime(dt.date(2026, 6, 1), 70, 11, current_auc=0.74, suggested_auc=0.79),
    feedback=FeedbackSummary(TODAY, TODAY, 3, 2, 1, 0, 2, 3, Borne(2, 1, 1), Borne(1, 0, 0)),
)


async def test_health_validity_reads_one_query_for_the_segment_and_shows_counts() -> None:
    reader = FakeReader({health_validity: REPORT})
    reply = await _ask("health validity smb", reader)
    (asked,) = reader.asked
    assert asked.query is health_validity
    assert (asked.arguments["segment"], asked.arguments["as_of"]) == (Segment.SMB, TODAY)
    assert reply.heading == "Health score validity — SMB"
    auc, churn, lift = reply.metrics
    assert (auc.value, auc.tone) == ("0.78", Tone.WARNING)  # some signal: lower bound < 0.7
    assert auc.detail == "95 % CI 0.69–0.85; 30 churned, 170 renewed"
    assert churn.value == "15 %" and "30 of 200" in (churn.detail or "")
    assert lift.value == "4.0×" and "60 % (9 of 15)" in (lift.detail or "")
    bands, components = reply.tables
    assert bands.rows[0] == ("Red", "15", "60 % (9 of 15)", "36–80 %", "4.0×")
    assert bands.rows[-1][0] == "All"
    assert components.rows[0] == ("Usage", "0.74 (0.64–0.82)", "carries signal", "200", "30", "41")
    assert components.rows[1][2] == "none shown"
    text = " ".join(reply.paragraphs)
    assert "carries some warning 60–89 days before the renewal" in text
    assert "nothing changed" in text and "[health.segments.SMB]" in text
    assert "worth a try" in text  # the suggestion did better on later renewals
    (chart,) = reply.charts
    assert chart.categories == ("Red", "Yellow", "Green")
    assert "red 60 % (9 of 15)" in chart.summary
    facts = {fact.label: fact.value for fact in reply.facts}
    assert "40 other renewals could not be scored that far ahead" in facts["Renewals"]
    assert facts["“Looks wrong”"].startswith(
        "3 times in the last 12 months (2 too high, 1 too low)"
    )
    assert (
        "of the 2 accounts called too high, 1 of the 1 with a renewal since churned"
        in (facts["“Looks wrong”"])
    )


async def test_a_suggestion_that_did_worse_out_of_time_says_keep_todays_weights() -> None:
    worse = dataclasses.replace(
        REPORT,
        segment=None,
        out_of_time=OutOfTime(dt.date(2026, 6, 1), 70, 11, current_auc=0.8, suggested_auc=0.7),
    )
    reply = await _ask("health validity", FakeReader({health_validity: worse}))
    text = " ".join(reply.paragraphs)
    assert "no better, so keep today's weights" in text and "[health.weights]" in text


async def test_too_few_renewals_are_said_plainly_with_what_it_takes() -> None:
    few = dataclasses.replace(REPORT, renewals=12, churned=2, overall=Rate.of(2, 12))
    reply = await _ask("health validity", FakeReader({health_validity: few}))
    assert reply.paragraphs == (
        "Not enough renewals yet to judge the score: 12 renewals scored, 2 churned and 10 "
        "renewed. It takes 30 renewals, with at least 5 churned and 5 renewed.",
    )
    assert reply.tables == () and reply.metrics == ()


async def test_without_red_accounts_there_is_no_lift_to_show() -> None:
    none_red = dataclasses.replace(
        REPORT, bands=(BandChurn(Band.RED, Rate.of(0, 0)), *REPORT.bands[1:]), red_lift=None
    )
    reply = await _ask("health validity", FakeReader({health_validity: none_red}))
    lift = reply.metrics[2]
    assert (
        lift.value == "—"
        and lift.detail == "no scored account was red 60–89 days before the renewal"
    )
    assert reply.tables[0].rows[0][1:3] == ("0", "no renewals")


@pytest.mark.parametrize("text", ["health validity acme", "health validity smb enterprise"])
async def test_words_that_are_not_a_segment_are_named_without_reading(text: str) -> None:
    reader = FakeReader()
    reply = await _ask(text, reader)
    assert reply.outcome is Outcome.PROBLEM
    assert reply.heading.startswith("I don't understand “")
    assert "Enterprise, Mid-market or SMB" in reply.paragraphs[0]
    assert reader.asked == []


# --- nps insights ---------------------------------------------------------------------------


def _insights(promoters: tuple[int, int, int], detractors: tuple[int, int, int]) -> NpsInsights:
    """(renewals, churned, expanded) for promoters and detractors."""

    def row(band: AnswerBand | None, n: int, churned: int, expanded: int) -> BandOutcomes:
        return BandOutcomes(band, Rate.of(churned, n), Rate.of(0, n), Rate.of(expanded, n))

    rows = (
        row(AnswerBand.PROMOTER, *promoters),
        row(AnswerBand.PASSIVE, 5, 1, 2),
        row(AnswerBand.DETRACTOR, *detractors),
        row(None, 40, 6, 10),
    )

    def compare(outcome: RenewalOutcome, first: Rate, second: Rate) -> Comparison:
        change = first.events / first.n - second.events / second.n
        return Comparison(outcome, first, second, Difference(change, change - 0.15, change + 0.15))

    return NpsInsights(
        as_of=TODAY,
        segment=None,
        since=TODAY - dt.timedelta(days=730),
        renewals=sum(r.renewals for r in rows),
        bands=rows,
        churn=compare(RenewalOutcome.CHURNED, rows[0].churn, rows[2].churn),
        contraction=compare(RenewalOutcome.CONTRACTED, rows[0].contraction, rows[2].contraction),
        expansion=compare(RenewalOutcome.EXPANDED, rows[0].expansion, rows[2].expansion),
    )


async def test_nps_insights_says_which_outcome_the_band_separates() -> None:
    """Expansion 30 points apart (clear); churn 5 points apart (within the interval)."""
    reader = FakeReader({nps_insights: _insights((40, 4, 20), (20, 3, 4))})
    reply = await _ask("nps insights", reader)
    (asked,) = reader.asked
    assert asked.arguments == {"as_of": TODAY, "segment": None}
    assert reply.heading == "NPS and renewals — all customers"
    expansion, churn = reply.paragraphs
    assert expansion.startswith("Expanded: promoters 50 % (20 of 40), detractors 20 % (4 of 20)")
    assert "Here the NPS band does foretell who expanded." in expansion
    assert churn.startswith("Churned: promoters 10 % (4 of 40), detractors 15 % (3 of 20)")
    assert churn.endswith("which may be chance: here the band does not show who churned.")
    (table,) = reply.tables
    assert table.rows[0] == (
        "Promoters",
        "40",
        "4 (10 %, 3–24 %)",
        "0 (0 %, 0–10 %)",
        "20 (50 %, 35–65 %)",
    )
    assert table.rows[-1][0] == "No answer"
    (chart,) = reply.charts
    assert chart.categories == ("Promoters", "Passives", "Detractors")


async def test_nps_insights_never_claims_a_difference_from_a_handful() -> None:
    reader = FakeReader({nps_insights: _insights((6, 0, 5), (4, 3, 0))})
    reply = await _ask("nps insights smb", reader)
    assert reader.asked[0].arguments["segment"] is Segment.SMB
    assert reply.paragraphs[0] == (
        "Expanded: too few renewals to tell — 6 of promoters and 4 of detractors; it takes 10 "
        "of each."
    )


async def test_nps_insights_with_words_that_are_not_a_segment() -> None:
    reader = FakeReader()
    reply = await _ask("nps insights last quarter", reader)
    assert reply.outcome is Outcome.PROBLEM and reader.asked == []


# --- "This score looks wrong" ---------------------------------------------------------------

HEALTH = HealthResult(
    score=81.0,
    band=Band.GREEN,
    components=(Component("usage", 81.0, 1.0, "80 of 100 seats active"),),
    as_of=TODAY,
    change_7d=None,
    change_30d=None,
)


async def test_every_health_answer_carries_the_button_with_its_form() -> None:
    reader = FakeReader({health_report: AccountHealth(Resolution(match=ACME), HEALTH)})
    reply = await _ask("health acme", reader)
    (button,) = [action for action in reply.actions if action.action_id == SCORE_WRONG]
    assert button.label == "This score looks wrong"
    assert dict(button.payload) == {"account": "ACME"}  # the score is read again on submit
    assert button.form is not None
    direction, reason = button.form.fields
    assert [c.value for c in direction.choices] == ["too_high", "too_low"]
    assert not direction.optional and reason.optional and reason.multiline


def _press(payload: dict[str, str]) -> ActionRequest:
    return ActionRequest(SCORE_WRONG, payload, ME, "C1")


async def test_the_button_asks_which_way_before_anything_is_read() -> None:
    reader = FakeReader()
    click = await _router(reader).click(_press({"account": "ACME"}))
    assert isinstance(click, ShowForm) and click.form.title == "This score looks wrong"
    assert reader.asked == []


async def test_a_submission_is_stored_as_the_clicker_and_thanked_privately() -> None:
    recorded = FeedbackResult(Stored.RECORDED, "Acme Corp", 81.0, "green")
    reader = FakeReader({member_by_chat_id: DANA, record_feedback: recorded})
    payload = {"account": "ACME", "direction": "too_high", "reason": " Champion left in May "}
    click = await _router(reader).click(_press(payload))
    assert isinstance(click, Answer) and click.delivery is Delivery.NOTICE
    assert click.reply.heading == "Thanks — noted that Acme Corp's health looks too high to you"
    assert "Its score was 81 (green)" in click.reply.paragraphs[0]
    stored = reader.asked[-1]
    assert stored.query is record_feedback
    assert stored.arguments["external_id"] == "ACME"
    assert stored.arguments["member_id"] == DANA.id
    assert stored.arguments["user_ref"] == "slack:U0CSM1"
    assert stored.arguments["direction"] is Direction.TOO_HIGH
    assert stored.arguments["reason"] == "Champion left in May"


async def test_someone_outside_the_team_is_still_heard() -> None:
    recorded = FeedbackResult(Stored.RECORDED, "Acme Corp", 81.0, "green")
    reader = FakeReader({member_by_chat_id: None, record_feedback: recorded})
    answer = await _router(reader).submit(_press({"account": "ACME", "direction": "too_low"}))
    assert answer.reply.outcome is Outcome.ANSWER
    assert reader.asked[-1].arguments["member_id"] is None
    assert reader.asked[-1].arguments["reason"] is None


@pytest.mark.parametrize(
    ("payload", "heading"),
    [
        (
            {"account": "ACME", "direction": "sideways"},
            "Pick whether the score is too high or too low",
        ),
        ({"direction": "too_high"}, "That button has lost its account"),
        (
            {"account": "ACME", "direction": "too_high", "reason": "x" * (MAX_REASON_CHARS + 1)},
            "That reason is too long; nothing was saved",
        ),
    ],
)
async def test_bad_answers_are_refused_and_nothing_is_stored(
    payload: dict[str, str], heading: str
) -> None:
    reader = FakeReader()
    answer = await _router(reader).submit(_press(payload))
    assert answer.reply.heading.startswith(heading)
    assert answer.reply.outcome is Outcome.PROBLEM
    assert reader.asked == []


async def test_an_account_that_churned_since_cannot_be_disputed() -> None:
    gone = FeedbackResult(Stored.NOT_A_CUSTOMER, "Acme Corp")
    reader = FakeReader({member_by_chat_id: DANA, record_feedback: gone})
    answer = await _router(reader).submit(_press({"account": "ACME", "direction": "too_low"}))
    assert answer.reply.heading == "Acme Corp is not a customer today; nothing was saved"
    assert answer.reply.outcome is Outcome.PROBLEM
