"""`nps [<account>|<segment>] [<period>]`: NPS with its interval, CSAT, CES, trend, verbatims.

Every score is shown with its response count and 95 % interval, so a +60 from five
answers is never read like a +60 from five hundred; below the minimum n an interval would
promise more than the answers can say, so the reply says there are too few instead. Next
to the scores stands the closed loop for the same scope and period: a score is only half
the story without whether the unhappy customers behind it were called back.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.orm import Session

from bot.account_choice import resolve_account
from bot.args import Period, parse_scope, period_problem, trailing
from bot.context import BotContext
from bot.formatting import interval
from bot.handlers.followups import closed_loop_line
from bot.inbound import CommandRequest
from bot.reply import Fact, Metric, Reply, Table, Tone
from metrics_core.followups.closed_loop import ClosedLoop, closed_loop
from metrics_core.store.frames import survey_responses
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.nps import NpsResult, nps
from metrics_core.surveys.scores import (
    MIN_N_FOR_INTERVAL,
    CesResult,
    CsatResult,
    breakdown,
    ces,
    csat,
    latest_detractors,
    monthly_trend,
)

USAGE = "nps [account | segment] [period]"
DEFAULT_DAYS = 90
TREND_MONTHS = 6
VERBATIMS = 3


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


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
    today = context.today()
    asked = parse_scope(request.args, today)
    if (problem := period_problem(asked, today)) is not None:
        return problem
    segment, rest = asked.segment, asked.rest
    period = asked.period or trailing(today, DEFAULT_DAYS, f"last {DEFAULT_DAYS} days")
    account_ids: list[int] | None = None
    scope = segment.value if segment else "all customers"
    if rest:
        account = await resolve_account(" ".join(rest), context, USAGE, "nps")
        if isinstance(account, Reply):
            return account
        account_ids, scope = [account.id], account.name
    trend_start = (
        (pd.Timestamp(period.end - dt.timedelta(days=1)).to_period("M") - (TREND_MONTHS - 1))
        .to_timestamp()
        .date()
    )
    since = min(period.start, trend_start)
    now = context.now()

    def load(session: Session) -> tuple[pd.DataFrame, ClosedLoop]:
        frame = survey_responses(
            session,
            _utc(since),
            _utc(period.end),
            account_ids=account_ids,
            segment=segment.value if segment else None,
        )
        loop = closed_loop(
            session,
            _utc(period.start),
            _utc(period.end),
            context.config.follow_ups,
            now=now,
            account_ids=account_ids,
            segment=segment,
        )
        return frame, loop

    frame, loop = await context.db.read(load)
    in_period = frame[frame["submitted_at"] >= pd.Timestamp(_utc(period.start))]
    return nps_reply(
        scope,
        period,
        in_period,
        frame,
        trend_start,
        loop,
        by_segment=segment is None and account_ids is None,
    )


def nps_reply(
    scope: str,
    period: Period,
    in_period: pd.DataFrame,
    history: pd.DataFrame,
    trend_start: dt.date,
    loop: ClosedLoop,
    *,
    by_segment: bool,
) -> Reply:
    scores = in_period[in_period["kind"] == SurveyKind.NPS.value]["score"]
    result = nps(scores)
    csat_result = csat(in_period[in_period["kind"] == SurveyKind.CSAT.value]["score"])
    ces_result = ces(in_period[in_period["kind"] == SurveyKind.CES.value]["score"])
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
    facts.append(Fact("Closed loop", closed_loop_line(loop)))
    tables = []
    nps_history = history[history["kind"] == SurveyKind.NPS.value]
    trend = monthly_trend(nps_history, SurveyKind.NPS, start=trend_start, end=period.end)
    tables.append(
        Table(
            ("Month", "NPS", "n"),
            tuple(
                (
                    f"{point.month:%b %Y}",
                    "—" if point.result.score is None else f"{point.result.score:+.0f}",
                    str(point.n),
                )
                for point in trend
            ),
            title="Monthly trend",
        )
    )
    nps_rows = in_period[in_period["kind"] == SurveyKind.NPS.value]
    if by_segment and len(nps_rows):
        tables.append(_breakdown_table(nps_rows, "segment", "Segment", "By segment"))
    if len(nps_rows):
        tables.append(_breakdown_table(nps_rows, "owner", "CSM", "By CSM", limit=8))
    verbatims = latest_detractors(nps_rows, VERBATIMS)
    paragraphs = tuple(
        f"“{row.comment}” — {_text(row.respondent_name, 'anonymous')}, "
        f"{_text(row.account, 'unmatched')} ({row.score}/10, {row.submitted_at:%Y-%m-%d})"
        for row in verbatims.itertuples()
    )
    return Reply(
        heading=heading,
        metrics=tuple(metrics),
        facts=tuple(facts),
        paragraphs=(("Latest detractors:", *paragraphs) if paragraphs else ()),
        tables=tuple(tables),
        notes=(_interval_note(),),
    )


def _text(value: object, missing: str) -> str:
    """A text cell of a frame, or `missing`: pandas stores an absent string as NaN, not None."""
    return value if isinstance(value, str) and value else missing


def _breakdown_table(
    rows: pd.DataFrame, column: str, label: str, title: str, limit: int = 10
) -> Table:
    groups = breakdown(rows, SurveyKind.NPS, column)[:limit]
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
