"""`nps insights [segment]`: does the NPS band foretell churn, contraction or expansion here?

The rule of thumb says that in B2B, NPS goes weakly with churn and strongly with expansion.
This answer shows what the company's own renewals say instead: per band of the account's
latest answer before each renewal, how many churned, contracted and expanded, with counts
and intervals, and a sentence for churn and one for expansion that says whether promoters
and detractors differed by more than chance. At small n it says there are too few to tell,
however large the difference looks.
"""

from __future__ import annotations

import functools

from bot.context import BotContext
from bot.formatting import count, interval, percent, rate_difference
from bot.handlers.validity import day, scope_name, segment_asked
from bot.reply import Chart, ChartKind, Fact, Reply, Series, Table
from metrics_core.proportions import Rate
from metrics_core.revenue.outcomes import AT_RENEWAL_DAYS, RenewalOutcome
from metrics_core.store.models import AnswerBand
from metrics_core.surveys.insights import (
    ANSWER_LEAD_DAYS,
    ANSWER_WINDOW_DAYS,
    MIN_PER_BAND,
    BandOutcomes,
    Comparison,
    NpsInsights,
    Verdict,
    nps_insights,
)

INSIGHTS = "insights"
USAGE = "nps insights [segment]"
WINDOW = f"{ANSWER_LEAD_DAYS}–{ANSWER_WINDOW_DAYS} days before the renewal"
_BAND_NAMES = {
    AnswerBand.PROMOTER: "Promoters",
    AnswerBand.PASSIVE: "Passives",
    AnswerBand.DETRACTOR: "Detractors",
    None: "No answer",
}
_VERBS = {
    RenewalOutcome.CHURNED: "churned",
    RenewalOutcome.CONTRACTED: "contracted",
    RenewalOutcome.EXPANDED: "expanded",
}


async def insights_command(words: list[str], context: BotContext) -> Reply:
    segment = segment_asked(words, USAGE, INSIGHTS)
    if isinstance(segment, Reply):
        return segment
    report = await context.db.read(
        functools.partial(nps_insights, as_of=context.today(), segment=segment)
    )
    return insights_reply(report)


def outcome_cell(rate: Rate) -> str:
    """`18 (28 %, 19–40 %)`: how many, the share of the band, and its interval."""
    if rate.share is None:
        return "—"
    share = percent(rate.share, 0)
    if rate.ci_low is None or rate.ci_high is None:
        return f"{rate.events} ({share})"
    bounds = interval(
        rate.ci_low * 100, rate.ci_high * 100, lambda v: f"{v:.0f}", sep="–", unit=" %", label=""
    )
    return f"{rate.events} ({share}, {bounds})"


def _of(rate: Rate) -> str:
    return f"{percent(rate.share, 0)} ({rate.events} of {rate.n})"


def comparison_sentence(comparison: Comparison) -> str:
    """Whether promoters and detractors differed in one outcome, never more than n allows."""
    verb = _VERBS[comparison.outcome]
    title = verb.capitalize()
    promoters, detractors = comparison.promoters, comparison.detractors
    verdict = comparison.verdict
    if verdict is Verdict.TOO_FEW or comparison.difference is None:
        return (
            f"{title}: too few renewals to tell — {promoters.n} of promoters and "
            f"{detractors.n} of detractors; it takes {MIN_PER_BAND} of each."
        )
    rates = (
        f"promoters {_of(promoters)}, detractors {_of(detractors)}: a difference of "
        f"{rate_difference(comparison.difference)}"
    )
    if verdict is Verdict.SEPARATES:
        return f"{title}: {rates}. Here the NPS band does foretell who {verb}."
    if verdict is Verdict.REVERSED:
        return (
            f"{title}: {rates}, the opposite of what the band promises. Check who answers the "
            "survey at these accounts."
        )
    return f"{title}: {rates}, which may be chance: here the band does not show who {verb}."


def _table(report: NpsInsights) -> Table:
    rows = tuple(
        (
            _BAND_NAMES[row.band],
            str(row.renewals),
            outcome_cell(row.churn),
            outcome_cell(row.contraction),
            outcome_cell(row.expansion),
        )
        for row in report.bands
    )
    return Table(
        ("Latest NPS answer", "Renewals", "Churned", "Contracted", "Expanded"),
        rows,
        title=f"Outcome at the renewal by NPS band {WINDOW}",
    )


def _chart(bands: tuple[BandOutcomes, ...]) -> Chart | None:
    """Churn and expansion rate per band that had renewals; None with fewer than two."""
    shown = [row for row in bands if row.renewals and row.band is not None]
    if len(shown) < 2:
        return None
    words = "; ".join(
        f"{_BAND_NAMES[row.band].lower()} churned {_of(row.churn)}, expanded {_of(row.expansion)}"
        for row in shown
    )
    return Chart(
        title="Churn and expansion by NPS band",
        kind=ChartKind.BAR,
        categories=tuple(_BAND_NAMES[row.band] for row in shown),
        series=(
            Series("Churned", tuple(round(100 * (row.churn.share or 0.0), 1) for row in shown)),
            Series(
                "Expanded", tuple(round(100 * (row.expansion.share or 0.0), 1) for row in shown)
            ),
        ),
        summary=f"At the renewal, by the band of the latest NPS answer before it: {words}.",
        unit=" %",
        y_label="Share of renewals (%)",
    )


def insights_reply(report: NpsInsights) -> Reply:
    heading = f"NPS and renewals — {scope_name(report.segment)}"
    renewals = Fact(
        "Renewals",
        f"{count(report.renewals, 'renewal')} decided since {day(report.since)}; "
        f"{report.answered} with an NPS answer {WINDOW}",
    )
    method = (
        f"Band: the account's latest NPS answer {WINDOW}. Outcome: churned, or the ARR "
        f"change taking effect within {AT_RENEWAL_DAYS} days of the renewal (contracted, "
        "expanded; otherwise flat). Rates: Agresti–Coull 95 % intervals; differences: "
        "Newcombe's hybrid score interval."
    )
    if not report.answered:
        return Reply(
            heading=heading,
            paragraphs=(
                f"No renewal had an NPS answer {WINDOW}: nothing to compare yet. Answers "
                "imported or received through the survey webhooks count from the day they "
                "were given.",
            ),
            facts=(renewals,),
            notes=(method,),
        )
    chart = _chart(report.bands)
    return Reply(
        heading=heading,
        paragraphs=(
            comparison_sentence(report.expansion),
            comparison_sentence(report.churn),
            # Contraction is in the table; a sentence only when the band told it apart.
            *(
                (comparison_sentence(report.contraction),)
                if report.contraction.verdict in (Verdict.SEPARATES, Verdict.REVERSED)
                else ()
            ),
        ),
        facts=(renewals,),
        tables=(_table(report),),
        charts=() if chart is None else (chart,),
        notes=(
            "In B2B, NPS is often found to go weakly with churn and strongly with expansion; "
            "the sentences above say what your own renewals show.",
            method,
        ),
    )
