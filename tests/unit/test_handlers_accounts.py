"""The account commands on a fake reader: `health`, `churn`, `churn top`, `renewals`,
Account details and the home screen, each answered from one query's typed result.

Each test gives the query's result by hand and checks what the asker reads, and that the
handler asked one query with the arguments it parsed. The queries themselves run against
real databases in tests/integration.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.account_choice import resolve_account as resolve_for_chat
from bot.actions import DETAILS, PICK
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.messages.home import home
from bot.reply import ChartKind, Outcome, Reply, Tone
from bot.router import Router
from metrics_core.accounts import lookup
from metrics_core.accounts.lookup import AccountRef, Resolution
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.churn.report import (
    AccountChurn,
    AccountRisk,
    RankedRisk,
    RiskBand,
    TopRisks,
    churn_report,
    risk_bands,
    top_risks,
)
from metrics_core.churn.risk import Calibration, Method, RiskModel, Sample
from metrics_core.config import Bands, Config, Health
from metrics_core.followups.work import OpenFollowUp
from metrics_core.health.portfolio import Book, BookAccount, book
from metrics_core.health.report import (
    AccountDetails,
    AccountHealth,
    HealthPoint,
    account_details,
    health_report,
)
from metrics_core.health.scorecard import Band, Component, HealthResult
from metrics_core.playbooks.runs import RunList, open_runs
from metrics_core.revenue.cohorts import SbgFit
from metrics_core.revenue.renewals import (
    DueRenewal,
    RenewalForecast,
    RenewalsReport,
    renewals_report,
)
from metrics_core.store.models import FollowUpStatus, LifecycleStage, Segment, TeamRole
from metrics_core.surveys.nps import nps
from tests.fakes.reader import FakeReader
from tests.routing import RULES, offline_context

TODAY = dt.date(2026, 11, 20)
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")


def _account(external_id: str, name: str, **fields: object) -> AccountRef:
    values: dict[str, object] = {
        "id": 1,
        "domain": None,
        "segment": Segment.ENTERPRISE,
        "seats": 100,
        "lifecycle_stage": LifecycleStage.MATURE,
        "owner_name": "Dana Whitfield",
    }
    values.update(fields)
    return AccountRef(external_id=external_id, name=name, **values)  # type: ignore[arg-type]


ACME = _account("ACME", "Acme Corp", domain="acme.example")
GLOBEX_EU = _account("GLX-EU", "Globex", id=2, segment=Segment.SMB)
GLOBEX_US = _account("GLX-US", "Globex", id=3, segment=Segment.MID_MARKET)

HEALTH = HealthResult(
    score=58.4,
    band=Band.YELLOW,
    components=(
        Component("usage", 40.0, 0.4, "31 of 100 seats active in 30 days"),
        Component("sentiment", 80.0, 0.35, "NPS +20 from 5 answers"),
        Component("support", 70.0, 0.25, "4 open tickets, 1 urgent"),
        Component("relationship", None, 0.0, "no touchpoint logged"),
    ),
    as_of=TODAY,
    change_7d=-3.0,
    change_30d=-9.0,
)


WEEKLY_SCORES = (73.0, 74.0, 72.0, 70.0, 69.0, 68.0, 66.0, 64.0, 65.0, 63.0, 61.0, 60.0)
HISTORY = (
    *(
        HealthPoint(TODAY - dt.timedelta(days=7 * (len(WEEKLY_SCORES) - n)), score)
        for n, score in enumerate(WEEKLY_SCORES)
    ),
    HealthPoint(TODAY, HEALTH.score),
)
"""Twelve stored weekly snapshots and today's score, as `health_report` gives them."""


def _risk(
    probability: float | None,
    *,
    days: int | None = 45,
    arr: float = 120_000.0,
    drivers: tuple[tuple[str, float], ...] = (("usage drop", 0.8), ("latest NPS", 0.4)),
) -> AccountRisk:
    return AccountRisk(
        probability=probability,
        drivers=drivers if probability is not None else (),
        arr=arr,
        renewal_arr=arr,
        days_to_renewal=days,
        renewal_date=None if days is None else TODAY + dt.timedelta(days=days),
    )


async def _ask(text: str, reader: FakeReader, model: RiskModel = RULES) -> Reply:
    context = offline_context(reader, today=TODAY, model=model)
    return await Router(context).handle(CommandRequest.parse(text, ME))


def _facts(reply: Reply) -> dict[str, str]:
    return {fact.label: fact.value for fact in reply.facts}


# health <account>


async def test_health_answers_from_one_read_of_the_account_and_its_health() -> None:
    reader = FakeReader({health_report: AccountHealth(Resolution(match=ACME), HEALTH, HISTORY)})
    reply = await _ask("health acme", reader)
    assert reply.heading == "Acme Corp — health"
    (score,) = reply.metrics
    assert (score.value, score.tone, score.detail) == ("58/100", Tone.WARNING, "yellow band")
    assert score.delta == "-3 in 7 days, -9 in 30 days"
    assert _facts(reply)["Biggest drag"].startswith("usage (−24 points)")
    assert reply.notes == ("No data for relationship: its weight is shared among the others.",)
    assert [a.payload for a in reply.actions if a.action_id == DETAILS] == [{"account": "ACME"}]
    (asked,) = reader.asked
    assert asked.query is health_report
    assert asked.arguments["text"] == "acme" and asked.arguments["as_of"] == TODAY


async def test_health_draws_the_quarter_ending_at_the_score_shown_against_the_bands() -> None:
    bands = Bands(red_below=35, green_from=75)
    reader = FakeReader({health_report: AccountHealth(Resolution(match=ACME), HEALTH, HISTORY)})
    context = offline_context(reader, Config(health=Health(bands=bands)), today=TODAY, model=RULES)
    reply = await Router(context).handle(CommandRequest.parse("health acme", ME))
    (chart,) = reply.charts
    assert chart.kind is ChartKind.LINE
    (line,) = chart.series
    assert len(line.values) == len(chart.categories) == len(HISTORY) <= 20
    assert f"{line.values[-1]:.0f}/100" == reply.metrics[0].value  # ends where the headline is
    assert chart.categories[0] == "Aug 28" and chart.categories[-1] == "Nov 20"  # oldest first
    assert [t.value for t in chart.thresholds] == [bands.red_below, bands.green_from]
    assert chart.summary.startswith("Health 58 today, 73 on Aug 28")
    assert "red below 35, green from 75" in chart.summary
    assert not any("history" in note for note in reply.notes)


@pytest.mark.parametrize("history", [(), (HealthPoint(TODAY, HEALTH.score),)])
async def test_health_without_stored_history_draws_nothing_and_says_so(
    history: tuple[HealthPoint, ...],
) -> None:
    reader = FakeReader({health_report: AccountHealth(Resolution(match=ACME), HEALTH, history)})
    reply = await _ask("health acme", reader)
    assert reply.charts == ()
    assert reply.notes[-1].startswith("No health history to chart yet")
    assert reply.metrics[0].value == "58/100"


async def test_health_of_a_churned_account_says_it_is_not_a_customer() -> None:
    reader = FakeReader({health_report: AccountHealth(Resolution(match=ACME), None)})
    reply = await _ask("health acme", reader)
    assert reply.heading == "Acme Corp is not a customer on 2026-11-20"


async def test_health_without_an_account_asks_which_without_reading() -> None:
    reader = FakeReader()
    reply = await _ask("health", reader)
    assert reply.heading == "Which account?"
    assert reply.outcome is Outcome.PROBLEM
    assert reader.asked == []


async def test_an_ambiguous_name_offers_one_button_per_account_that_reruns_health() -> None:
    resolution = Resolution(match=None, candidates=(GLOBEX_EU, GLOBEX_US))
    reader = FakeReader({health_report: AccountHealth(resolution)})
    reply = await _ask("health globex", reader)
    assert reply.heading == "“globex” matches 2 accounts — which one?"
    assert reply.tables[0].rows == (
        ("Globex", "GLX-EU", "SMB"),
        ("Globex", "GLX-US", "Mid-market"),
    )
    assert [(a.action_id, a.label, dict(a.payload)) for a in reply.actions] == [
        (PICK, "Globex (GLX-EU)", {"command": "health", "account": "GLX-EU"}),
        (PICK, "Globex (GLX-US)", {"command": "health", "account": "GLX-US"}),
    ]


async def test_a_typo_suggests_the_closest_account_with_a_button() -> None:
    reader = FakeReader({health_report: AccountHealth(Resolution(match=None, closest=ACME))})
    reply = await _ask("health acne", reader)
    assert reply.heading == "No account matches “acne”"
    assert reply.paragraphs == ("Did you mean Acme Corp?",)
    assert reply.outcome is Outcome.PROBLEM
    assert [dict(a.payload) for a in reply.actions] == [{"command": "health", "account": "ACME"}]


async def test_nothing_alike_says_how_to_name_an_account() -> None:
    reader = FakeReader({health_report: AccountHealth(Resolution(match=None))})
    reply = await _ask("health zzzz", reader)
    assert reply.paragraphs == (
        "Try the account's name, its domain (acme.example) or its external id.",
    )
    assert reply.actions == ()


async def test_commands_that_need_only_the_account_resolve_it_in_one_read() -> None:
    reader = FakeReader({lookup.resolve_account: Resolution(match=ACME)})
    context = offline_context(reader, today=TODAY)
    assert await resolve_for_chat("acme", context, "nps [account]", "nps") == ACME
    (asked,) = reader.asked
    assert (asked.query, dict(asked.arguments)) == (lookup.resolve_account, {"query": "acme"})


# churn <account>


async def test_churn_names_the_renewal_the_risk_is_about_and_what_raises_it() -> None:
    reader = FakeReader({churn_report: AccountChurn(Resolution(match=ACME), _risk(0.62))})
    reply = await _ask("churn acme", reader)
    (risk,) = reply.metrics
    assert (risk.value, risk.tone) == ("62 %", Tone.BAD)
    assert risk.detail == "probability of churning at its renewal on 2027-01-04"
    assert _facts(reply) == {"ARR": "$120k", "Next renewal": "2027-01-04 (45 days)"}
    assert reply.tables[0].rows == (("usage drop", "+0.80"), ("latest NPS", "+0.40"))
    assert reply.notes[0].startswith("Rule-based risk: only 3 churned accounts")
    (asked,) = reader.asked
    assert asked.query is churn_report
    assert (asked.arguments["text"], asked.arguments["model"]) == ("acme", RULES)


@pytest.mark.parametrize(
    ("probability", "tone"), [(0.62, Tone.BAD), (0.3, Tone.WARNING), (0.05, Tone.GOOD)]
)
async def test_churn_risk_is_toned_by_the_configured_high_risk_line(
    probability: float, tone: Tone
) -> None:
    reader = FakeReader({churn_report: AccountChurn(Resolution(match=ACME), _risk(probability))})
    assert (await _ask("churn acme", reader)).metrics[0].tone is tone


async def test_churn_says_which_model_and_how_it_was_checked() -> None:
    model = RiskModel(
        Method.MODEL,
        None,
        trained_rows=4_200,
        churned_accounts=48,
        calibration=Calibration(held_out_from=dt.date(2026, 5, 1), held_out_rows=1_300),
    )
    reader = FakeReader({churn_report: AccountChurn(Resolution(match=ACME), _risk(0.05))})
    reply = await _ask("churn acme", reader, model)
    assert reply.notes[0].startswith(
        "Model: logistic regression on 4,200 month-end snapshots of accounts whose next "
        "renewal was decided (48 churned accounts), calibrated on the 1,300 predictions "
        "about renewals decided after 2026-05-01"
    )


async def test_a_model_learned_from_a_sample_of_a_large_book_says_so() -> None:
    model = RiskModel(
        Method.MODEL,
        None,
        trained_rows=68_000,
        churned_accounts=1_950,
        sample=Sample(accounts=100_000, share=0.2),
    )
    reader = FakeReader({churn_report: AccountChurn(Resolution(match=ACME), _risk(0.05))})
    reply = await _ask("churn acme", reader, model)
    assert reply.notes[0].startswith(
        "Model: logistic regression on 68,000 month-end snapshots of accounts whose next "
        "renewal was decided (1,950 churned accounts; learnt from a fixed sample of 20 % of "
        "the book's 100,000 accounts), not yet calibrated"
    )


async def test_a_renewal_beyond_the_horizon_gets_no_probability_and_says_why() -> None:
    reader = FakeReader({churn_report: AccountChurn(Resolution(match=ACME), _risk(None, days=500))})
    reply = await _ask("churn acme", reader)
    assert reply.metrics == ()
    assert reply.paragraphs == (
        "No churn probability for Acme Corp: its next renewal (2028-04-03) is more than "
        "365 days away, beyond what today's signals can say.",
    )


async def test_an_account_without_a_renewal_is_told_where_renewals_come_from() -> None:
    reader = FakeReader(
        {churn_report: AccountChurn(Resolution(match=ACME), _risk(None, days=None))}
    )
    reply = await _ask("churn acme", reader)
    assert "no upcoming renewal on record" in reply.paragraphs[0]
    assert "Next renewal" not in _facts(reply)


async def test_churn_of_a_churned_account_says_it_is_not_a_customer() -> None:
    reader = FakeReader({churn_report: AccountChurn(Resolution(match=ACME))})
    reply = await _ask("churn acme", reader)
    assert reply.heading == "Acme Corp is not a customer on 2026-11-20"


async def test_an_ambiguous_churn_question_offers_buttons_that_rerun_churn() -> None:
    resolution = Resolution(match=None, candidates=(GLOBEX_EU, GLOBEX_US), total=7)
    reader = FakeReader({churn_report: AccountChurn(resolution)})
    reply = await _ask("churn globex", reader)
    assert reply.heading == "“globex” matches 7 accounts — which one?"
    assert reply.paragraphs == (
        "These are the 2 closest; type more of the name to narrow it down.",
    )
    assert {a.payload["command"] for a in reply.actions} == {"churn"}


# churn top [N]


async def test_churn_top_ranks_with_renewal_arr_and_the_arr_at_stake() -> None:
    acme = _risk(0.62)
    initech = _risk(0.41, days=None, arr=30_000.0, drivers=())
    top = TopRisks(
        accounts=(
            RankedRisk("Acme Corp", "Dana Whitfield", acme),
            RankedRisk("Initech", None, initech),
        ),
        at_stake=86_700.0,
        bands=risk_bands([acme, initech]),
        without_probability=0,
    )
    reader = FakeReader({top_risks: top})
    reply = await _ask("churn top 5", reader)
    assert reply.heading == "Top 2 churn risks"
    assert _facts(reply) == {"ARR at stake at their renewals": "$87k"}
    assert reply.tables[0].rows == (
        ("Acme Corp", "62 %", "$120k", "45 d", "usage drop", "Dana Whitfield"),
        ("Initech", "41 %", "$30k", "—", "—", "unassigned"),
    )
    (asked,) = reader.asked
    assert asked.query is top_risks and asked.arguments["count"] == 5


def _band(low: float, high: float | None, accounts: int, arr: float) -> RiskBand:
    return RiskBand(low, high, accounts, arr)


BOOK_BANDS = (
    _band(0.0, 0.05, 310, 9_300_000.0),
    _band(0.05, 0.10, 95, 2_850_000.0),
    _band(0.10, 0.20, 40, 1_200_000.0),
    _band(0.20, 0.40, 12, 360_000.0),
    _band(0.40, None, 3, 150_000.0),
)


async def test_churn_top_draws_how_many_customers_and_how_much_arr_each_risk_band_holds() -> None:
    top = TopRisks(
        accounts=(RankedRisk("Acme Corp", "Dana Whitfield", _risk(0.62)),),
        at_stake=74_400.0,
        bands=BOOK_BANDS,
        without_probability=38,
    )
    reply = await _ask("churn top 1", FakeReader({top_risks: top}))
    (chart,) = reply.charts
    assert chart.kind is ChartKind.BAR
    assert chart.categories == ("< 5 %", "5–10 %", "10–20 %", "20–40 %", "≥ 40 %")
    (bars,) = chart.series
    assert bars.values == tuple(float(band.accounts) for band in BOOK_BANDS)
    scored = sum(band.accounts for band in BOOK_BANDS)
    assert chart.summary.startswith(f"Churn risk of {scored} customers: < 5 %: 310 customers, ")
    for label, band in zip(chart.categories, BOOK_BANDS, strict=True):
        assert f"{label}: {band.accounts} customer" in chart.summary
    assert "≥ 40 %: 3 customers, $150k ARR" in chart.summary
    assert "38 more customers without a probability (no renewal within 365 days" in chart.summary


def test_risk_bands_count_every_customer_with_a_probability_once_at_its_edges() -> None:
    probabilities = [0.0, 0.049, 0.05, 0.1, 0.199, 0.2, 0.4, 0.99, None]
    risks = [_risk(p, arr=1_000.0) for p in probabilities]
    bands = risk_bands(risks)
    # 0 and 4.9 % | 5 % | 10 and 19.9 % | 20 % | 40 and 99 %: each edge opens its band.
    assert [b.accounts for b in bands] == [2, 1, 2, 1, 2]
    assert sum(b.accounts for b in bands) == sum(p is not None for p in probabilities)
    assert [b.arr for b in bands] == [2_000.0, 1_000.0, 2_000.0, 1_000.0, 2_000.0]
    assert [(b.low, b.high) for b in bands] == [
        (0.0, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 0.4), (0.4, None)
    ]  # fmt: skip


async def test_churn_top_asks_for_ten_by_default() -> None:
    empty = TopRisks(accounts=(), at_stake=0.0, bands=risk_bands([]), without_probability=0)
    reader = FakeReader({top_risks: empty})
    reply = await _ask("churn top", reader)
    assert reply.heading == "No customers to rank"
    assert reply.charts == ()
    assert reader.asked[0].arguments["count"] == 10


@pytest.mark.parametrize("count", ["0", "26", "ten", "-3"])
async def test_churn_top_refuses_a_count_it_cannot_show_without_reading(count: str) -> None:
    reader = FakeReader()
    reply = await _ask(f"churn top {count}", reader)
    assert reply.heading == f"“{count}” is not a count"
    assert reply.paragraphs == ("Usage: `churn top [N]` with N from 1 to 25.",)
    assert reader.asked == []


# renewals [days]


def _renewal(name: str, days: int, arr: float, probability: float | None) -> DueRenewal:
    return DueRenewal(
        account=name,
        owner="Dana Whitfield",
        renewal_date=TODAY + dt.timedelta(days=days),
        arr=arr,
        score=48.0 if probability is not None else None,
        band=Band.YELLOW if probability is not None else None,
        probability=probability,
    )


def _renewals(renewals: tuple[DueRenewal, ...], forecast: RenewalForecast) -> RenewalsReport:
    risky = [r for r in renewals if r.probability is not None and r.probability >= 0.5]
    return RenewalsReport(
        days=30,
        renewals=renewals,
        arr_due=sum(r.arr for r in renewals),
        at_stake=sum(r.at_stake or 0.0 for r in renewals),
        expected_churns=sum(r.probability or 0.0 for r in renewals),
        high_risk_from=0.5,
        high_risk=len(risky),
        high_risk_arr=sum(r.arr for r in risky),
        forecast=forecast,
    )


FITTED = RenewalForecast(
    due=2,
    arr_due=150_000.0,
    expected_renewals=1.6,
    expected_arr=120_000.0,
    fit=SbgFit(alpha=1.2, beta=3.4, log_likelihood=-40.0, periods_observed=3),
    observed_rate=None,
)


async def test_renewals_show_arr_at_stake_and_reconcile_it_with_the_forecast() -> None:
    due = (_renewal("Acme Corp", 12, 120_000.0, 0.6), _renewal("Initech", 20, 30_000.0, None))
    reader = FakeReader({renewals_report: _renewals(due, FITTED)})
    reply = await _ask("renewals 30d", reader)
    assert reply.heading == "Renewals in the next 30 days"
    assert (reply.metrics[0].value, reply.metrics[0].tone) == ("$72k", Tone.BAD)
    facts = _facts(reply)
    assert facts["Due"] == "2 renewals, $150k ARR"
    assert facts["High risk (≥ 50 %)"] == "1 renewals, $120k ARR"
    assert facts["Expected to churn"] == (
        "1 renewals, $72k by churn risk; 0, $30k by the cohort forecast"
    )
    assert reply.tables[0].rows == (
        ("Acme Corp", "2026-12-02", "$120k", "48 yellow", "60 %", "Dana Whitfield"),
        ("Initech", "2026-12-10", "$30k", "—", "—", "Dana Whitfield"),
    )
    assert reply.notes[0].startswith("Churn risk expects $42k more lost than the cohort forecast")
    assert reply.notes[1] == (
        "Forecast: shifted-beta-geometric fit of past renewals by renewal number "
        "(alpha 1.20, beta 3.40)."
    )
    (asked,) = reader.asked
    assert asked.query is renewals_report and asked.arguments["days"] == 30


async def test_renewals_with_little_history_give_the_observed_rate() -> None:
    thin = RenewalForecast(1, 1_000.0, float("nan"), float("nan"), None, 0.8)
    reader = FakeReader({renewals_report: _renewals((_renewal("Acme Corp", 3, 1_000, 0.1),), thin)})
    reply = await _ask("renewals", reader)
    assert _facts(reply)["Forecast"].startswith("80% renew, the observed first-renewal rate")
    assert reader.asked[0].arguments["days"] == 90


async def test_renewals_show_fifteen_and_say_how_many_there_are() -> None:
    due = tuple(_renewal(f"Account {n}", n, 1_000.0 * (20 - n), 0.2) for n in range(18))
    reader = FakeReader({renewals_report: _renewals(due, FITTED)})
    reply = await _ask("renewals 30", reader)
    assert len(reply.tables[0].rows) == 15
    assert reply.tables[0].rows[0][0] == "Account 0"
    assert reply.notes[-1] == "Showing the 15 with the most ARR at stake of 18."


async def test_no_renewals_in_the_window_says_so() -> None:
    reader = FakeReader({renewals_report: _renewals((), FITTED)})
    reply = await _ask("renewals 7", reader)
    assert reply.paragraphs == ("No open renewals in this window.",)


@pytest.mark.parametrize("text", ["soon", "0", "731", "30 60"])
async def test_renewals_refuse_what_is_not_a_number_of_days_without_reading(text: str) -> None:
    reader = FakeReader()
    reply = await _ask(f"renewals {text}", reader)
    assert reply.heading == f"“{text}” is not a number of days"
    assert reply.outcome is Outcome.PROBLEM
    assert reader.asked == []


# Account details


async def _details(reader: FakeReader) -> Reply:
    context = offline_context(reader, today=TODAY)
    press = ActionRequest(DETAILS, {"account": "ACME"}, ME)
    return await Router(context).act(press)


async def test_account_details_are_one_read_of_health_risk_renewal_and_nps() -> None:
    details = AccountDetails(ACME, HEALTH, _risk(0.62), nps([10, 9, 9, 3, 7, 8]))
    reader = FakeReader({account_details: details})
    reply = await _details(reader)
    assert reply.heading == "Acme Corp — account"
    assert [(m.label, m.value, m.tone) for m in reply.metrics] == [
        ("Health", "58/100", Tone.WARNING),
        ("Churn risk", "62 %", Tone.BAD),
        ("NPS, 12 months", "+33", Tone.NEUTRAL),
    ]
    assert reply.metrics[2].detail == "n = 6"
    assert _facts(reply) == {
        "External id": "ACME",
        "Segment": "Enterprise",
        "Owner": "Dana Whitfield",
        "ARR": "$120k",
        "Seats": "100",
        "Lifecycle": "mature",
        "Next renewal": "2027-01-04",
    }
    (asked,) = reader.asked
    assert asked.query is account_details
    assert (asked.arguments["external_id"], asked.arguments["as_of"]) == ("ACME", TODAY)


async def test_details_of_a_churned_account_show_what_is_left() -> None:
    churned = _account("OLD", "Oldco", seats=0, lifecycle_stage=LifecycleStage.CHURNED)
    reader = FakeReader({account_details: AccountDetails(churned, None, None, nps([]))})
    reply = await _details(reader)
    assert [(m.label, m.value) for m in reply.metrics] == [("NPS, 12 months", "—")]
    assert _facts(reply)["Seats"] == "not recorded"
    assert "ARR" not in _facts(reply)


async def test_details_of_an_account_that_is_gone_say_so() -> None:
    reply = await _details(FakeReader({account_details: None}))
    assert reply.heading == "That account no longer exists"
    assert reply.outcome is Outcome.PROBLEM


# The home screen


DANA = Member(7, "Dana Whitfield", TeamRole.CSM, "dana@closeloop.example")


def _held(name: str, score: float, band: Band, risk: AccountRisk) -> BookAccount:
    return BookAccount(name, score, band, risk)


async def test_home_shows_the_book_risks_renewals_and_follow_ups_from_one_read() -> None:
    acme = _held("Acme Corp", 35.0, Band.RED, _risk(0.55))
    initech = _held("Initech", 72.0, Band.GREEN, _risk(0.08, days=200, arr=30_000.0))
    waiting = OpenFollowUp(
        11, "Acme Corp", 4, "nps", "Too slow", FollowUpStatus.CLAIMED, "Dana Whitfield",
        dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC),
    )  # fmt: skip
    held = Book(
        accounts=2,
        arr=150_000.0,
        average_health=53.5,
        red=1,
        lowest_health=(acme, initech),
        high_risk_from=0.5,
        at_risk=(acme,),
        renewal_days=90,
        renewing=(acme,),
        renewing_arr=120_000.0,
        waiting=(waiting,),
    )
    reader = FakeReader({member_by_chat_id: DANA, book: held, open_runs: RunList((), 0, 0)})
    summary, at_risk, renewals, followups, playbooks = await home(
        ME, offline_context(reader, today=TODAY)
    )
    assert summary.heading == "Dana Whitfield's book"
    assert [(m.label, m.value) for m in summary.metrics] == [
        ("Accounts", "2"),
        ("ARR", "$150k"),
        ("Average health", "54/100"),
    ]
    assert summary.metrics[2].detail == "1 in the red band"
    assert summary.tables[0].rows == (
        ("Acme Corp", "35 red", "55 %", "$120k"),
        ("Initech", "72 green", "8 %", "$30k"),
    )
    assert at_risk.tables[0].rows == (("Acme Corp", "55 %", "usage drop"),)
    assert _facts(renewals) == {"ARR up for renewal": "$120k"}
    assert renewals.tables[0].rows == (("Acme Corp", "2027-01-04", "$120k", "35", "55 %"),)
    assert followups.tables[0].rows == (("Acme Corp", "NPS 4", "2026-11-18"),)
    assert playbooks.paragraphs == ("No open runs.",)
    member_read, book_read, _ = reader.asked
    assert member_read.query is member_by_chat_id
    assert "U0CSM1" in member_read.arguments.values()
    assert book_read.query is book
    assert (book_read.arguments["owner_id"], book_read.arguments["renewal_days"]) == (7, 90)


async def test_an_empty_book_says_nothing_is_assigned_and_nothing_waits() -> None:
    held = Book(0, 0.0, None, 0, (), 0.5, (), 90, (), 0.0, ())
    reader = FakeReader({member_by_chat_id: DANA, book: held, open_runs: RunList((), 0, 0)})
    summary, followups, playbooks = await home(ME, offline_context(reader, today=TODAY))
    assert summary.paragraphs == ("No customers are assigned to you.",)
    assert followups.paragraphs == ("Nothing is waiting.",)
    assert playbooks.paragraphs == ("No open runs.",)


async def test_someone_not_on_the_team_is_welcomed_without_reading_a_book() -> None:
    reader = FakeReader({member_by_chat_id: None})
    (welcome,) = await home(ME, offline_context(reader, today=TODAY))
    assert welcome.heading == "Welcome to Closeloop"
    assert reader.queries() == [member_by_chat_id]
