"""`nps [<account>|<segment>] [<period>]`: NPS with its interval, CSAT, CES, trend, verbatims.

Every score is shown with its response count and 95 % interval, so a +60 from five
answers is never read like a +60 from five hundred; below the minimum n an interval would
promise more than the answers can say, so the reply says there are too few instead. Next
to the scores stands the closed loop for the same scope and period: a score is only half
the story without whether the unhappy customers behind it were called back.

The monthly trend is also drawn, a bar a month, with a summary that gives each month's n:
months without answers get no bar (an NPS of 0 is a score, not an absence) and months too
thin for an interval say so, so a swing built on three answers is not read as news.

`nps insights [segment]` asks what the score is worth instead: whether the NPS band
foretold churn, contraction or expansion at past renewals (`bot.handlers.nps_insights`).
"""

from __future__ import annotations

import functools

from bot.account_choice import chosen_account
from bot.args import Period, parse_scope, period_problem, trailing
from bot.context import BotContext
from bot.formatting import interval
from bot.handlers.followups import closed_loop_line
from bot.handlers.nps_insights import INSIGHTS, insights_command
from bot.inbound import CommandRequest
from bot.reply import Chart, ChartKind, Fact, Metric, Reply, Series, Table, Tone
from metrics_core.surveys.nps import NpsResult
from metrics_core.surveys.report import SurveyScores, survey_report
from metrics_core.surveys.scores import (
    MIN_N_FOR_INTERVAL,
    CesResult,
    CsatResult,
    GroupResult,
    TrendPoint,
)

USAGE = "nps [account | segment] [period] | nps insights [segment]"
DEFAULT_DAYS = 90


def _nps_interval(result: NpsResult) -> str:
    if result.score is None:
        return "no answers"
    return f"{interval(result.ci_low, result.ci_high)}, n = {result.n}"


def _tone(result: NpsResult) -> Tone:
    if result.score is None:
        return Tone.NEUTRAL
    return Tone.GOOD if result.score >= 30 else Tone.WARNING if result.score >= 0 else Tone.BAD


def _csat_text(result: CsatResult) -> str:
    if result.score is None:
        return "no answers"
    bounds = interval(result.ci_low, result.ci_high, lambda v: f"{v:.0f}", sep="–", unit=" %")
    return f"{result.score:.0f} % satisfied ({bounds}, n = {result.n})"


def _ces_text(result: CesResult) -> str:
    if result.score is None:
        return "no answers"
    bounds = interval(result.ci_low, result.ci_high, lambda v: f"{v:.1f}", sep="–")
    return f"{result.score:.1f} of 7 ({bounds}, n = {result.n})"


def _interval_note() -> str:
    """Which interval each score uses, and from how many answers (metrics_core's minimums)."""
    minimums = {kind.name: n for kind, n in MIN_N_FOR_INTERVAL.items()}
    fewest = (
        f"{next(iter(minimums.values()))} answers"
        if len(set(minimums.values())) == 1
        else ", ".join(f"{n} for {name}" for name, n in minimums.items())
    )
    return (
        "Intervals are 95 %: NPS by adjusted Wald (Rocks 2016), CSAT by Agresti–Coull, "
        f"CES by t with a floor on the spread; none below {fewest}."
    )


async def nps_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    if words and words[0].lower() == INSIGHTS:
        return await insights_command(words[1:], context)
    today = context.today()
    asked = parse_scope(request.args, today)
    if (problem := period_problem(asked, today)) is not None:
        return problem
    segment = asked.segment
    period = asked.period or trailing(today, DEFAULT_DAYS, f"last {DEFAULT_DAYS} days")
    account_text = " ".join(asked.rest)
    report = await context.db.read(
        functools.partial(
            survey_report,
            account_text=account_text or None,
            segment=segment,
            start=period.start,
            end=period.end,
            follow_ups=context.config.follow_ups,
            now=context.now(),
        )
    )
    scope = segment.value if segment else "all customers"
    if report.resolution is not None:
        account = chosen_account(account_text, report.resolution, "nps")
        if isinstance(account, Reply):
            return account
        scope = account.name
    assert report.scores is not None  # a single account, a segment or everyone
    return nps_reply(scope, period, report.scores)


def _month_text(point: TrendPoint[NpsResult]) -> str:
    result = point.result
    assert result.score is not None  # months without answers are named apart
    thin = ", too few for an interval" if result.too_few_for_interval else ""
    return f"{point.month:%b %y} {result.score:+.0f} (n = {point.n}{thin})"


def trend_chart(trend: tuple[TrendPoint[NpsResult], ...]) -> Chart | None:
    """NPS a bar a month for the months with answers; None unless two months have some."""
    answered = tuple(point for point in trend if point.result.score is not None)
    if len(answered) < 2:
        return None
    silent = [f"{point.month:%b %y}" for point in trend if point.result.score is None]
    summary = f"NPS by month: {'; '.join(_month_text(point) for point in answered)}."
    if silent:
        summary += f" No answers in {', '.join(silent)}."
    return Chart(
        title="NPS by month",
        kind=ChartKind.BAR,
        categories=tuple(f"{point.month:%b %y}" for point in answered),
        series=(Series("NPS", tuple(round(point.result.score or 0.0) for point in answered)),),
        summary=summary,
        y_label="NPS (-100 to 100)",
    )


def nps_reply(scope: str, period: Period, scores: SurveyScores) -> Reply:
    result, csat_result, ces_result = scores.nps, scores.csat, scores.ces
    heading = f"NPS — {scope}, {period.label}"
    if result.n == 0 and csat_result.n == 0 and ces_result.n == 0:
        return Reply(heading=heading, paragraphs=("No survey answers in this period.",))
    metrics = [
        Metric(
            label="NPS",
            value="—" if result.score is None else f"{result.score:+.0f}",
            tone=_tone(result),
            detail=_nps_interval(result),
        )
    ]
    facts = []
    if result.n:
        facts.append(
            Fact(
                "Promoters / passives / detractors",
                f"{result.promoters} / {result.passives} / {result.detractors}",
            )
        )
    facts.append(Fact("CSAT", _csat_text(csat_result)))
    facts.append(Fact("CES", _ces_text(ces_result)))
    facts.append(Fact("Closed loop", closed_loop_line(scores.closed_loop)))
    tables = [
        Table(
            ("Month", "NPS", "n"),
            tuple(
                (
                    f"{point.month:%b %Y}",
                    "—" if point.result.score is None else f"{point.result.score:+.0f}",
                    str(point.n),
                )
                for point in scores.trend
            ),
            title="Monthly trend",
        )
    ]
    if scores.by_segment:
        tables.append(_breakdown_table(scores.by_segment, "Segment", "By segment"))
    if scores.by_csm:
        tables.append(_breakdown_table(scores.by_csm, "CSM", "By CSM"))
    paragraphs = tuple(
        f"“{verbatim.comment}” — {verbatim.respondent or 'anonymous'}, "
        f"{verbatim.account or 'unmatched'} ({verbatim.score}/10, "
        f"{verbatim.submitted_at:%Y-%m-%d})"
        for verbatim in scores.detractors
    )
    chart = trend_chart(scores.trend)
    return Reply(
        heading=heading,
        metrics=tuple(metrics),
        facts=tuple(facts),
        paragraphs=(("Latest detractors:", *paragraphs) if paragraphs else ()),
        tables=tuple(tables),
        charts=() if chart is None else (chart,),
        notes=(_interval_note(),),
    )


def _breakdown_table(groups: tuple[GroupResult[NpsResult], ...], label: str, title: str) -> Table:
    return Table(
        (label, "NPS", "95 % CI", "n"),
        tuple(
            (
                str(group.group) if group.group is not None else "unassigned",
                "—" if group.result.score is None else f"{group.result.score:+.0f}",
                interval(group.result.ci_low, group.result.ci_high, label=""),
                str(group.n),
            )
            for group in groups
        ),
        title=f"{title} (worst first)",
    )
