"""`followups [mine|open|unmatched|sla …]`: what is waiting, what matched no account, the SLA.

`open` and `mine` list follow-ups still waiting, oldest first. `unmatched` is the queue of
answers no account claims, which no CSM sees in their book. `sla` is the closed-loop
report; its numbers come from `metrics_core.followups.closed_loop`, the same definition `/nps`
quotes in its one-line summary (`closed_loop_line`). Its chart is the share contacted
within SLA week by week, read in the same query: the weeks of the period when it spans 8
to 12 of them, else the 8 (or 12) weeks up to its end. A week with nobody due is left out
of the drawing and named in the summary, never drawn as 0 %.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence

from bot.args import Period, parse_scope, period_problem, trailing
from bot.context import BotContext
from bot.formatting import count, percent
from bot.identity import not_on_team, team_member
from bot.inbound import CommandRequest
from bot.reply import Chart, ChartKind, Fact, Metric, Outcome, Reply, Series, Table, Tone
from metrics_core.followups.closed_loop import (
    ClosedLoop,
    Group,
    LoopStats,
    UnmatchedAnswer,
    Week,
    closed_loop,
    unmatched_queue,
)
from metrics_core.followups.work import open_follow_ups
from metrics_core.store.models import AnswerBand

USAGE = "followups [mine | open | unmatched | sla [period] [segment] [mine]]"
SLA_DEFAULT_DAYS = 30
TREND_WEEKS = (8, 12)
"""The fewest and most weeks the SLA chart covers."""
UNMATCHED_SHOWN = 20


def _usage(heading: str) -> Reply:
    return Reply(
        heading=heading,
        paragraphs=(
            f"Usage: `{USAGE}`.",
            "For example `followups sla`, `followups sla 90d smb` or `followups unmatched`.",
        ),
        outcome=Outcome.PROBLEM,
    )


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _age(created: dt.datetime, now: dt.datetime) -> str:
    hours = (now - created).total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


def _hours(hours: float | None) -> str:
    """Claim times in hours, close times that run to days in days: both read at a glance."""
    if hours is None:
        return "—"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def _sla(loop: ClosedLoop) -> str:
    return f"{loop.sla_hours:g} h"


def _who(bands: Sequence[AnswerBand]) -> str:
    return " and ".join(f"{band.value}s" for band in bands) or "SLA follow-ups"


def closed_loop_line(loop: ClosedLoop) -> str:
    """The closed loop in one sentence, for replies whose subject is something else."""
    total, who, sla = loop.total, _who(loop.bands), _sla(loop)
    if total.follow_ups == 0:
        return f"no {who} to follow up in this period"
    if total.n == 0:
        return f"{count(total.pending, 'follow-up')} still within {sla}, none due yet"
    text = f"{percent(total.share, 0)} of {who} contacted within {sla} (n = {total.n})"
    if total.median_claim_hours is not None:
        text += f", median claim {_hours(total.median_claim_hours)}"
    if total.open_past_sla:
        text += f", {total.open_past_sla} open past SLA"
    return text


def _group_table(label: str, title: str, groups: tuple[Group, ...]) -> Table:
    return Table(
        (label, "Within SLA", "n", "Median claim", "Median close", "Open past SLA"),
        tuple(
            (
                group.label,
                percent(group.stats.share, 0),
                str(group.stats.n),
                _hours(group.stats.median_claim_hours),
                _hours(group.stats.median_close_hours),
                str(group.stats.open_past_sla),
            )
            for group in groups
        ),
        title=title,
    )


def _definition(loop: ClosedLoop) -> str:
    sla, who = _sla(loop), _who(loop.bands)
    return (
        f"Within SLA: claimed within {sla} of the answer arriving. Unclaimed {who} past "
        f"{sla} count as missed; those still inside it are left out of n until they are due."
    )


def _detail(total: LoopStats, who: str) -> str:
    detail = f"{total.within_sla} of {total.n} {who}"
    if total.pending:
        detail += f"; {total.pending} still within SLA, not counted yet"
    return detail


def trend_weeks(period: Period) -> int:
    """How many weeks the SLA chart covers: the period's, within `TREND_WEEKS`."""
    fewest, most = TREND_WEEKS
    return min(most, max(fewest, math.ceil(period.days / 7)))


def _week(week: Week) -> str:
    """`14–20 Nov`, `28 Oct–3 Nov`: the week's first and last day."""
    first, last = week.start.date(), (week.end - dt.timedelta(days=1)).date()
    if first.month == last.month:
        return f"{first.day}–{last.day} {last:%b}"
    return f"{first.day} {first:%b}–{last.day} {last:%b}"


def _decided(week: Week) -> str:
    text = f"{_week(week)} {percent(week.stats.share, 0)} (n = {week.stats.n}"
    if week.stats.pending:
        text += f", {week.stats.pending} still within SLA"
    return text + ")"


def _undecided(week: Week) -> str:
    if week.stats.pending:
        return f"{_week(week)} none due yet ({week.stats.pending} still within SLA)"
    return f"{_week(week)} none"


def _sla_chart(loop: ClosedLoop) -> Chart | None:
    """The share contacted within SLA by week, from the first week with any due.

    Weeks with none due (no follow-ups, or all still within their SLA) are left
    out of the drawing, which has no way to show "nothing" other than a misleading 0 %,
    and named in the summary instead.
    """
    decided = [week for week in loop.weeks if week.stats.n]
    if not decided:
        return None
    sla, who = _sla(loop), _who(loop.bands)
    first, last = loop.weeks[0].start.date(), (loop.weeks[-1].end - dt.timedelta(days=1)).date()
    shown = loop.weeks[loop.weeks.index(decided[0]) :]
    parts = [_decided(week) if week.stats.n else _undecided(week) for week in shown]
    n = sum(week.stats.n for week in decided)
    within = sum(week.stats.within_sla for week in decided)
    summary = (
        f"{len(loop.weeks)} weeks, {first.day} {first:%b %Y} to {last.day} {last:%b %Y}: "
        f"{within} of {n} {who} contacted within {sla} ({percent(within / n, 0)}). "
        f"By week: {'; '.join(parts)}."
    )
    if shown[0] is not loop.weeks[0]:
        summary += f" No {who} due before {shown[0].start.day} {shown[0].start:%b}."
    return Chart(
        title=f"Contacted within {sla}, by week",
        kind=ChartKind.BAR,
        categories=tuple(_week(week) for week in decided),
        series=(
            Series(
                "Within SLA", tuple(round((week.stats.share or 0.0) * 100, 1) for week in decided)
            ),
        ),
        summary=summary,
        unit="%",
        y_label=f"% of {who} due",
    )


def sla_reply(scope: str, period: Period, loop: ClosedLoop) -> Reply:
    heading = f"Closed loop — {scope}, {period.label}"
    total, who = loop.total, _who(loop.bands)
    chart = _sla_chart(loop)
    charts = (chart,) if chart is not None else ()
    if total.follow_ups == 0:
        return Reply(
            heading=heading,
            paragraphs=(f"No {who} to follow up in this period.",),
            notes=(_definition(loop),),
            charts=charts,
        )
    return Reply(
        heading=heading,
        metrics=(
            Metric(
                label=f"Contacted within {_sla(loop)}",
                value=percent(total.share, 0),
                # Someone is waiting past the SLA right now: that is what needs acting on.
                tone=Tone.BAD if total.open_past_sla else Tone.NEUTRAL,
                detail=_detail(total, who),
            ),
        ),
        facts=(
            Fact(
                "Median time to claim", f"{_hours(total.median_claim_hours)} (n = {total.claimed})"
            ),
            Fact(
                "Median time to close", f"{_hours(total.median_close_hours)} (n = {total.closed})"
            ),
            Fact("Open past SLA", str(total.open_past_sla)),
        ),
        tables=(
            _group_table("CSM", "By CSM (worst first)", loop.by_csm),
            _group_table("Segment", "By segment (worst first)", loop.by_segment),
        ),
        notes=(_definition(loop),),
        charts=charts,
    )


async def _sla_command(words: list[str], request: CommandRequest, context: BotContext) -> Reply:
    today = context.today()
    asked = parse_scope(" ".join(words), today)
    if (problem := period_problem(asked, today)) is not None:
        return problem
    mine = [word for word in asked.rest if word.lower() == "mine"]
    unknown = [word for word in asked.rest if word.lower() != "mine"]
    if unknown or len(mine) > 1:
        return _usage(f"I don't understand “{(unknown or mine)[0]}”")
    period = asked.period or trailing(today, SLA_DEFAULT_DAYS, f"last {SLA_DEFAULT_DAYS} days")
    scope = asked.segment.value if asked.segment else "all customers"
    owner_id = None
    if mine:
        member = await team_member(request.actor, context)
        if member is None:
            return not_on_team(request.actor)
        owner_id, scope = member.id, f"{member.name}’s follow-ups"
        if asked.segment:
            scope += f" in {asked.segment.value}"
    loop = await context.db.read(
        functools.partial(
            closed_loop,
            start=_utc(period.start),
            end=_utc(period.end),
            config=context.config.follow_ups,
            now=context.now(),
            owner_id=owner_id,
            segment=asked.segment,
            weeks=trend_weeks(period),
        )
    )
    return sla_reply(scope, period, loop)


def _respondent(answer: UnmatchedAnswer) -> str:
    if answer.respondent_name and answer.respondent_email:
        return f"{answer.respondent_name} <{answer.respondent_email}>"
    return answer.respondent_name or answer.respondent_email or "anonymous"


def _follow_up(answer: UnmatchedAnswer) -> str:
    if answer.follow_up_status is None:
        return "none"
    owner = f" ({answer.owner})" if answer.owner else ""
    return f"{answer.follow_up_status.value}{owner}"


async def _unmatched_command(context: BotContext) -> Reply:
    queue = await context.db.read(functools.partial(unmatched_queue, limit=UNMATCHED_SHOWN))
    heading = "Unmatched answers"
    if not queue.answers:
        return Reply(heading=heading, paragraphs=("Every answer matches an account.",))
    shown = (
        "newest first"
        if queue.total <= len(queue.answers)
        else f"the newest {len(queue.answers)} shown"
    )
    return Reply(
        heading=heading,
        paragraphs=(
            f"{count(queue.total, 'answer')} match no account, {shown}. They count towards "
            "NPS but sit in nobody's book: add the contact or the account's domain.",
        ),
        tables=(
            Table(
                ("Submitted", "Respondent", "Answer", "Follow-up", "Comment"),
                tuple(
                    (
                        f"{answer.submitted_at:%Y-%m-%d %H:%M}",
                        _respondent(answer),
                        f"{answer.kind.value.upper()} {answer.score}",
                        _follow_up(answer),
                        (answer.comment or "—")[:60],
                    )
                    for answer in queue.answers
                ),
            ),
        ),
    )


async def followups_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    if words and words[0].lower() == "sla":
        return await _sla_command(words[1:], request, context)
    scope = (request.args or "open").lower()
    if scope == "unmatched":
        return await _unmatched_command(context)
    if scope not in ("mine", "open"):
        return _usage(f"“{request.args}” is not a choice")
    owner_id = None
    heading = "Open follow-ups"
    if scope == "mine":
        member = await team_member(request.actor, context)
        if member is None:
            return not_on_team(request.actor)
        owner_id, heading = member.id, "Your open follow-ups"
    items = await context.db.read(functools.partial(open_follow_ups, owner_id=owner_id))
    if not items:
        return Reply(heading=heading, paragraphs=("Nothing is waiting. Every loop is closed.",))
    now = context.now()
    rows = tuple(
        (
            item.account or "unmatched",
            f"{item.kind.upper()} {item.score}",
            item.status.value,
            item.owner or "unclaimed",
            _age(item.created_at, now),
            (item.comment or "—")[:60],
        )
        for item in items
    )
    return Reply(
        heading=heading,
        tables=(Table(("Account", "Answer", "Status", "Owner", "Waiting", "Comment"), rows),),
    )
