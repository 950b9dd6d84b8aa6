"""The answer of `value`: one account's success plan and advocacy, or the portfolio's.

An account: every promised outcome with its owner, target, status, days overdue and
whether the customer acknowledged it, the counts over the plan, and the account's acts of
advocacy. The portfolio (or a segment): the overdue promises, most overdue first, and who
owns them; the acknowledged-value rate over the outcomes delivered in the period, with a
95 % interval when enough were delivered; and advocacy by kind, CSM and segment in the
period. Both are read in one transaction (one query, `value_report`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.accounts.lookup import AccountRef, Resolution, resolve_account
from metrics_core.proportions import Rate
from metrics_core.store.models import Account, Segment, SuccessOutcome
from metrics_core.value.advocacy import (
    Act,
    AdvocacyCounts,
    Tally,
    account_advocacy,
    account_tally,
    advocacy_counts,
)
from metrics_core.value.outcomes import (
    PlanSummary,
    Promise,
    account_promises,
    in_scope,
    ordered,
    promise_query,
    read_promises,
    summarise,
)

"""Fewest delivered outcomes whose acknowledged share gets an interval: the same share
arithmetic (Agresti–Coull) and minimum as CSAT's satisfied share."""
OVERDUE_SHOWN = 10


@dataclass(frozen=True, slots=True)
class AccountValue:
    account: AccountRef
    promises: tuple[Promise, ...]
    """The whole plan, overdue first (`outcomes.ordered`)."""
    summary: PlanSummary
    advocacy: tuple[Act, ...]
    """The latest acts, newest first."""
    advocacy_total: Tally
    """Every act the account gave, by kind."""


@dataclass(frozen=True, slots=True)
class OwnerOverdue:
    """One owner's overdue promises."""

    owner: str
    overdue: int
    accounts: int
    oldest_days: int


@dataclass(frozen=True, slots=True)
class PortfolioValue:
    as_of: dt.date
    start: dt.date
    end: dt.date
    """The period [start, end) whose deliveries and advocacy are counted."""
    segment: Segment | None
    accounts: int
    """Accounts with a success plan, in scope."""
    summary: PlanSummary
    """Every outcome in scope as it stands today (overdue, open, delivered ever)."""
    acknowledged: Rate
    """Of the outcomes delivered in the period, those the customer acknowledged."""
    on_time: Rate
    """Of the outcomes delivered in the period, those delivered by their target date."""
    overdue: tuple[Promise, ...]
    """The most overdue, at most `OVERDUE_SHOWN`."""
    by_owner: tuple[OwnerOverdue, ...]
    """Owners of overdue promises, most overdue promises first."""
    advocacy: AdvocacyCounts


@dataclass(frozen=True, slots=True)
class ValueReport:
    resolution: Resolution | None
    """What the account text named, when the question named one."""
    account: AccountValue | None = None
    """The account's plan, when the text named one account."""
    portfolio: PortfolioValue | None = None
    """The portfolio or segment, when no account was asked."""


def _by_owner(overdue: list[Promise]) -> tuple[OwnerOverdue, ...]:
    owners: dict[str, list[Promise]] = defaultdict(list)
    for promise in overdue:
        owners[promise.owner].append(promise)
    rows = [
        OwnerOverdue(
            owner=owner,
            overdue=len(promises),
            accounts=len({p.account_external_id for p in promises}),
            oldest_days=max(p.days_overdue or 0 for p in promises),
        )
        for owner, promises in owners.items()
    ]
    return tuple(sorted(rows, key=lambda row: (-row.overdue, -row.oldest_days, row.owner)))


def portfolio_value(
    session: Session, *, segment: Segment | None, start: dt.date, end: dt.date, today: dt.date
) -> PortfolioValue:
    """Every success plan in scope as of `today`, with deliveries and advocacy in [start, end)."""
    promises = read_promises(session, in_scope(promise_query(), segment=segment), today)
    delivered = [
        p for p in promises if p.delivered and p.delivered_on and start <= p.delivered_on < end
    ]
    overdue = [p for p in ordered(promises) if p.overdue]
    accounts = session.scalar(
        in_scope(
            select(func.count(func.distinct(SuccessOutcome.account_id))).join(
                Account, Account.id == SuccessOutcome.account_id
            ),
            segment=segment,
        )
    )
    return PortfolioValue(
        as_of=today,
        start=start,
        end=end,
        segment=segment,
        accounts=int(accounts or 0),
        summary=summarise(promises),
        acknowledged=Rate.of(sum(p.acknowledged for p in delivered), len(delivered)),
        on_time=Rate.of(sum(p.on_time for p in delivered), len(delivered)),
        overdue=tuple(overdue[:OVERDUE_SHOWN]),
        by_owner=_by_owner(overdue),
        advocacy=advocacy_counts(session, start, end, segment=segment),
    )


def value_report(
    session: Session,
    *,
    account_text: str | None,
    segment: Segment | None,
    start: dt.date,
    end: dt.date,
    today: dt.date,
) -> ValueReport:
    """`value [account | segment] [period]` in one transaction."""
    if not account_text:
        return ValueReport(
            None,
            portfolio=portfolio_value(session, segment=segment, start=start, end=end, today=today),
        )
    resolution = resolve_account(session, account_text)
    if resolution.match is None:
        return ValueReport(resolution)
    account = resolution.match
    promises = account_promises(session, account.id, today)
    return ValueReport(
        resolution,
        account=AccountValue(
            account=account,
            promises=promises,
            summary=summarise(promises),
            advocacy=account_advocacy(session, account.id),
            advocacy_total=account_tally(session, account.id),
        ),
    )
