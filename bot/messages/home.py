"""The home screen (Slack's App Home): the viewer's own book of business at a glance.

Worst health first, then what is at risk, what renews soon, what still waits for a
follow-up and the playbook runs they own (overdue plays first): the order a CSM works
through a morning.
"""

from __future__ import annotations

import functools

from bot.context import BotContext
from bot.formatting import likelihood, money
from bot.identity import team_member
from bot.inbound import Actor
from bot.messages.playbooks import home_runs
from bot.reply import Fact, Metric, Reply, Table, Tone
from metrics_core.followups.work import OpenFollowUp
from metrics_core.health.portfolio import Book, book
from metrics_core.playbooks.runs import open_runs

ROWS = 10
RENEWAL_DAYS = 90


async def home(actor: Actor, context: BotContext) -> list[Reply]:
    member = await team_member(actor, context)
    if member is None:
        return [
            Reply(
                heading="Welcome to Closeloop",
                paragraphs=(
                    "Your book of business shows here once your admin adds your chat user id "
                    "to the CS team (`closeloop import team`). Meanwhile, try `/closeloop help`.",
                ),
            )
        ]
    today = context.today()
    model = await context.churn_model(today)
    held = await context.db.read(
        functools.partial(
            book,
            owner_id=member.id,
            as_of=today,
            config=context.config,
            model=model,
            renewal_days=RENEWAL_DAYS,
        )
    )
    now = context.now()
    runs = await context.db.read(
        functools.partial(open_runs, now=now, owner_id=member.id, limit=ROWS)
    )
    return [*book_replies(member.name, held, context.config.revenue.currency), home_runs(runs, now)]


def book_replies(name: str, held: Book, currency: str) -> list[Reply]:
    """The home screen's sections: the book, what is at risk, renewals, follow-ups."""
    if not held.accounts:
        summary = Reply(heading=f"{name}'s book", paragraphs=("No customers are assigned to you.",))
        return [summary, _followups(held.waiting)]
    summary = Reply(
        heading=f"{name}'s book",
        metrics=(
            Metric("Accounts", f"{held.accounts:,}"),
            Metric("ARR", money(held.arr, currency)),
            Metric(
                "Average health",
                "—" if held.average_health is None else f"{held.average_health:.0f}/100",
                tone=Tone.BAD if held.red else Tone.NEUTRAL,
                detail=f"{held.red} in the red band",
            ),
        ),
        tables=(
            Table(
                ("Account", "Health", "Risk", "ARR"),
                tuple(
                    (
                        a.account,
                        f"{a.score:.0f} {a.band}",
                        likelihood(a.risk.probability),
                        money(a.risk.arr, currency),
                    )
                    for a in held.lowest_health[:ROWS]
                ),
                title="Lowest health first",
            ),
        ),
    )
    at_risk = Reply(
        heading="At risk",
        paragraphs=()
        if held.at_risk
        else (f"No account at {held.high_risk_from:.0%} churn risk or more.",),
        tables=(
            Table(
                ("Account", "Risk", "Main driver"),
                tuple(
                    (
                        a.account,
                        likelihood(a.risk.probability),
                        a.risk.drivers[0][0] if a.risk.drivers else "—",
                    )
                    for a in held.at_risk[:ROWS]
                ),
            ),
        )
        if held.at_risk
        else (),
    )
    renewals = Reply(
        heading=f"Renewals in the next {held.renewal_days} days",
        facts=(Fact("ARR up for renewal", money(held.renewing_arr, currency)),)
        if held.renewing
        else (),
        paragraphs=() if held.renewing else ("None.",),
        tables=(
            Table(
                ("Account", "Renews", "ARR", "Health", "Risk"),
                tuple(
                    (
                        a.account,
                        "—" if a.risk.renewal_date is None else f"{a.risk.renewal_date:%Y-%m-%d}",
                        money(a.risk.renewal_arr, currency),
                        f"{a.score:.0f}",
                        likelihood(a.risk.probability),
                    )
                    for a in held.renewing[:ROWS]
                ),
            ),
        )
        if held.renewing
        else (),
    )
    return [summary, at_risk, renewals, _followups(held.waiting)]


def _followups(waiting: tuple[OpenFollowUp, ...]) -> Reply:
    if not waiting:
        return Reply(heading="Your open follow-ups", paragraphs=("Nothing is waiting.",))
    return Reply(
        heading="Your open follow-ups",
        tables=(
            Table(
                ("Account", "Answer", "Since"),
                tuple(
                    (
                        f.account or "unmatched",
                        f"{f.kind.upper()} {f.score}",
                        f"{f.created_at:%Y-%m-%d}",
                    )
                    for f in waiting[:ROWS]
                ),
            ),
        ),
    )
