"""`value [account | segment] [period]`: value promised at the sale, delivered, acknowledged.

For an account: its success plan, every promised outcome with owner, target, status, days
overdue and whether the customer acknowledged the value, the counts over the plan, and
the advocacy the account gave. Without an account: the overdue promises of the portfolio
(or a segment) by owner, the share of the period's deliveries the customers acknowledged,
with its interval and n, and advocacy by kind, CSM and segment in the period.

Value delivered but never acknowledged is rarely remembered at renewal, so the answer
keeps the two apart; and a share of three deliveries says little, so it says so instead of
drawing an interval it cannot support.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from bot.account_choice import chosen_account
from bot.actions import details_action
from bot.args import Period, parse_scope, period_problem, trailing
from bot.context import BotContext
from bot.formatting import count, interval, percent
from bot.inbound import CommandRequest
from bot.reply import Fact, Metric, Reply, Table, Tone
from metrics_core.proportions import MIN_N_FOR_INTERVAL, Rate
from metrics_core.store.models import AdvocacyKind, OutcomeStatus
from metrics_core.value.advocacy import KINDS, Act, AdvocacyCounts, Tally
from metrics_core.value.outcomes import Promise
from metrics_core.value.report import (
    AccountValue,
    PortfolioValue,
    value_report,
)

USAGE = "value [account | segment] [period]"
DEFAULT_DAYS = 365
HOW_TO_IMPORT = (
    "Import success plans with `closeloop import success_plans FILE` and advocacy with "
    "`closeloop import advocacy FILE`; a promoter's alert also has a Record advocacy button."
)
OVERDUE_MEANS = "Overdue: the target date has passed and the outcome is not delivered."

ADVOCACY_NAMES: dict[AdvocacyKind, tuple[str, str]] = {
    AdvocacyKind.REFERRAL: ("referral", "referrals"),
    AdvocacyKind.REVIEW: ("public review", "public reviews"),
    AdvocacyKind.REFERENCE_CALL: ("reference call", "reference calls"),
    AdvocacyKind.CASE_STUDY: ("case study", "case studies"),
}
"""How each kind of advocacy reads, one and many: the words of every answer and form."""

_STATUS = {
    OutcomeStatus.ON_TRACK: "on track",
    OutcomeStatus.AT_RISK: "at risk",
    OutcomeStatus.MISSED: "missed",
    OutcomeStatus.DELIVERED: "delivered",
}


def advocacy_name(kind: AdvocacyKind) -> str:
    """`Referral`, `Case study`: a kind as a label."""
    return ADVOCACY_NAMES[kind][0].capitalize()


def tally_text(tally: Tally) -> str:
    """`3 referrals, 1 case study`, the kinds that occurred; `none` when none did."""
    parts = [count(tally.of(kind), *ADVOCACY_NAMES[kind]) for kind in KINDS if tally.of(kind) > 0]
    return ", ".join(parts) or "none"


def share_text(shared: Rate, noun: str) -> str:
    """`41 of 52 delivered (79 %, 95 % CI 66–88 %)`, or with too few for an interval."""
    if shared.n == 0:
        return f"nothing {noun}"
    bounds = (
        interval(
            shared.ci_low,
            shared.ci_high,
            lambda v: f"{v * 100:.0f}",
            sep="–",
            unit=" %",
        )
        if shared.ci_low is not None
        else f"too few for an interval (fewer than {MIN_N_FOR_INTERVAL})"
    )
    return f"{shared.events:,} of {shared.n:,} {noun} ({percent(shared.share, 0)}, {bounds})"


async def value_command(request: CommandRequest, context: BotContext) -> Reply:
    today = context.today()
    asked = parse_scope(request.args, today)
    if (problem := period_problem(asked, today)) is not None:
        return problem
    period = asked.period or trailing(today, DEFAULT_DAYS, "last 12 months")
    account_text = " ".join(asked.rest)
    report = await context.db.read(
        functools.partial(
            value_report,
            account_text=account_text or None,
            segment=asked.segment,
            start=period.start,
            end=period.end,
            today=today,
        )
    )
    if report.resolution is not None:
        account = chosen_account(account_text, report.resolution, "value")
        if isinstance(account, Reply):
            return account
    if report.account is not None:
        reply = account_value_reply(report.account, today)
        if asked.period is not None:
            reply = dataclasses.replace(
                reply,
                notes=(
                    *reply.notes,
                    "An account's plan is shown whole; a period applies to `value` without "
                    "an account.",
                ),
            )
        return reply
    assert report.portfolio is not None  # no account asked: the portfolio or a segment
    return portfolio_value_reply(report.portfolio, period)


def _status(promise: Promise) -> str:
    if not promise.delivered:
        return _STATUS[promise.status]
    if promise.delivered_on is None:
        return "delivered"
    when = (
        "on time"
        if promise.on_time
        else f"{(promise.delivered_on - promise.target_date).days} days late"
    )
    return f"delivered {promise.delivered_on:%Y-%m-%d} ({when})"


def _acknowledged(promise: Promise) -> str:
    if not promise.delivered:
        return "—"
    if promise.acknowledged_on is None:
        return "not yet"
    return f"yes, {promise.acknowledged_on:%Y-%m-%d}"


def _days(days: int | None) -> str:
    return "—" if days is None else count(days, "day")


def _plan_table(promises: tuple[Promise, ...]) -> Table:
    return Table(
        ("Promise", "Owner", "Target", "Status", "Overdue", "Acknowledged"),
        tuple(
            (
                p.title,
                p.owner,
                f"{p.target_date:%Y-%m-%d}",
                _status(p),
                _days(p.days_overdue),
                _acknowledged(p),
            )
            for p in promises
        ),
        title="Success plan (overdue first)",
    )


def _acts_table(acts: tuple[Act, ...]) -> Table:
    return Table(
        ("When", "What", "Credited to", "Note"),
        tuple(
            (
                f"{act.occurred_on:%Y-%m-%d}",
                advocacy_name(act.kind) + (" (on a follow-up)" if act.from_follow_up else ""),
                act.by or "—",
                act.note or "—",
            )
            for act in acts
        ),
        title="Advocacy, latest first",
    )


def account_value_reply(value: AccountValue, today: dt.date) -> Reply:
    """One account's success plan and advocacy."""
    account, summary = value.account, value.summary
    heading = f"{account.name} — value"
    facts = (
        Fact("Segment", account.segment.value),
        Fact("Owner", account.owner_name or "unassigned"),
        Fact("Advocacy, ever", tally_text(value.advocacy_total)),
        Fact("As of", f"{today:%Y-%m-%d}"),
    )
    tables = [_acts_table(value.advocacy)] if value.advocacy else []
    actions = (details_action(account.external_id),)
    if summary.promised == 0:
        return Reply(
            heading=heading,
            paragraphs=(f"No success plan recorded for {account.name}. {HOW_TO_IMPORT}",),
            facts=facts,
            tables=tuple(tables),
            actions=actions,
        )
    metrics = (
        Metric(
            "Delivered",
            f"{summary.delivered} of {summary.promised}",
            detail=f"{summary.on_time} on time",
        ),
        Metric(
            "Acknowledged",
            f"{summary.acknowledged} of {summary.delivered}",
            tone=Tone.NEUTRAL
            if summary.delivered == 0
            else Tone.GOOD
            if summary.acknowledged == summary.delivered
            else Tone.WARNING,
            detail="by the customer, of those delivered",
        ),
        Metric(
            "Overdue",
            str(summary.overdue),
            tone=Tone.BAD if summary.overdue else Tone.GOOD,
            detail=f"{summary.open} still ahead of target",
        ),
    )
    return Reply(
        heading=heading,
        metrics=metrics,
        facts=facts,
        tables=(_plan_table(value.promises), *tables),
        notes=(OVERDUE_MEANS,),
        actions=actions,
    )


def advocacy_table(counts: AdvocacyCounts, title: str) -> Table:
    """Acts per CSM by kind: who turns promoters into advocates."""
    return Table(
        ("CSM", *(ADVOCACY_NAMES[kind][1].capitalize() for kind in KINDS), "Total"),
        tuple(
            (tally.label, *(str(n) for n in tally.counts), str(tally.total))
            for tally in counts.by_csm
        ),
        title=title,
    )


def by_segment_text(counts: AdvocacyCounts) -> str:
    """`Enterprise 10, Mid-market 9, SMB 5`."""
    return ", ".join(f"{tally.label} {tally.total}" for tally in counts.by_segment)


def portfolio_value_reply(value: PortfolioValue, period: Period) -> Reply:
    """The portfolio's (or a segment's) promises, acknowledged value and advocacy."""
    scope = value.segment.value if value.segment else "all segments"
    heading = f"Value — {scope}, {period.label}"
    summary, advocacy = value.summary, value.advocacy
    if summary.promised == 0 and advocacy.total.total == 0:
        return Reply(
            heading=heading,
            paragraphs=(f"No success plans or advocacy recorded for {scope} yet.", HOW_TO_IMPORT),
        )
    acknowledged, on_time = value.acknowledged, value.on_time
    metrics = (
        Metric(
            "Promises overdue",
            f"{summary.overdue:,}",
            tone=Tone.BAD if summary.overdue else Tone.GOOD,
            detail=f"of {summary.promised:,} promised to {count(value.accounts, 'account')}",
        ),
        Metric(
            "Value acknowledged",
            percent(acknowledged.share, 0),
            detail=f"{acknowledged.events} of {acknowledged.n} delivered in the period",
        ),
        Metric(
            "Delivered on time",
            percent(on_time.share, 0),
            detail=f"{on_time.events} of {on_time.n} delivered in the period",
        ),
        Metric("Advocacy", f"{advocacy.total.total:,}", detail="acts in the period"),
    )
    facts = (
        Fact("Acknowledged value", share_text(acknowledged, "delivered in the period")),
        Fact("Delivered on time", share_text(on_time, "delivered in the period")),
        Fact("Still ahead of target", f"{summary.open:,} promises"),
        Fact("Advocacy by kind", tally_text(advocacy.total)),
        Fact("Advocacy by segment", by_segment_text(advocacy)),
    )
    tables = []
    if value.by_owner:
        tables.append(
            Table(
                ("Owner", "Overdue", "Accounts", "Oldest"),
                tuple(
                    (row.owner, str(row.overdue), str(row.accounts), _days(row.oldest_days))
                    for row in value.by_owner
                ),
                title=f"Overdue promises by owner ({summary.overdue})",
            )
        )
        tables.append(
            Table(
                ("Account", "Promise", "Owner", "Target", "Overdue"),
                tuple(
                    (
                        p.account,
                        p.title,
                        p.owner,
                        f"{p.target_date:%Y-%m-%d}",
                        _days(p.days_overdue),
                    )
                    for p in value.overdue
                ),
                title=f"Most overdue promises ({len(value.overdue)} of {summary.overdue})",
            )
        )
    if advocacy.by_csm:
        tables.append(advocacy_table(advocacy, f"Advocacy by CSM — {scope}, {period.label}"))
    return Reply(
        heading=heading,
        metrics=metrics,
        facts=facts,
        tables=tuple(tables),
        notes=(
            OVERDUE_MEANS,
            "Acknowledged and on time count the outcomes delivered in the period; their "
            f"intervals are 95 % (Agresti–Coull), none below {MIN_N_FOR_INTERVAL} deliveries. "
            "Advocacy is credited to who recorded it, else to the account's owner.",
        ),
    )
