"""The home screen (Slack's App Home): the viewer's own book of business at a glance.

Worst health first, then what is at risk, what renews soon and what still waits for a
follow-up: the order a CSM works through a morning.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from bot.context import BotContext
from bot.formatting import likelihood, money
from bot.identity import team_member
from bot.inbound import Actor
from bot.reply import Fact, Metric, Reply, Table, Tone
from metrics_core.followups.work import OpenFollowUp, open_follow_ups
from metrics_core.health.portfolio import portfolio

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
    model = await context.db.read(lambda session: context.risk.get(session, today))
    book = await context.db.read(
        lambda session: portfolio(
            session, today, context.config, model, owner_id=member.id, with_names=True
        )
    )
    waiting = await context.db.read(lambda session: open_follow_ups(session, owner_id=member.id))
    return book_replies(member.name, book, waiting, today, context)


def book_replies(
    name: str,
    book: pd.DataFrame,
    waiting: list[OpenFollowUp],
    today: dt.date,
    context: BotContext,
) -> list[Reply]:
    currency = context.config.revenue.currency
    if book.empty:
        summary = Reply(heading=f"{name}'s book", paragraphs=("No customers are assigned to you.",))
        return [summary, _followups(waiting)]
    red = int((book["band"] == "red").sum())
    summary = Reply(
        heading=f"{name}'s book",
        metrics=(
            Metric("Accounts", f"{len(book):,}"),
            Metric("ARR", money(float(book["arr"].fillna(0).sum()), currency)),
            Metric(
                "Average health",
                f"{book['score'].mean():.0f}/100",
                tone=Tone.BAD if red else Tone.NEUTRAL,
                detail=f"{red} in the red band",
            ),
        ),
        tables=(
            Table(
                ("Account", "Health", "Risk", "ARR"),
                tuple(
                    (
                        row.account,
                        f"{row.score:.0f} {row.band}",
                        likelihood(row.probability),
                        money(row.arr, currency),
                    )
                    for row in book.sort_values("score").head(ROWS).itertuples()
                ),
                title="Lowest health first",
            ),
        ),
    )
    high = context.config.churn.high_risk_from
    risky = book[book["probability"] >= high].sort_values("probability", ascending=False)
    at_risk = Reply(
        heading="At risk",
        paragraphs=() if len(risky) else (f"No account at {high:.0%} churn risk or more.",),
        tables=(
            Table(
                ("Account", "Risk", "Main driver"),
                tuple(
                    (
                        row.account,
                        likelihood(row.probability),
                        row.drivers[0][0] if row.drivers else "—",
                    )
                    for row in risky.head(ROWS).itertuples()
                ),
            ),
        )
        if len(risky)
        else (),
    )
    soon = book[book["days_to_renewal"] <= RENEWAL_DAYS].sort_values("days_to_renewal")
    renewals = Reply(
        heading=f"Renewals in the next {RENEWAL_DAYS} days",
        facts=(
            Fact("ARR up for renewal", money(float(soon["renewal_arr"].fillna(0).sum()), currency)),
        )
        if len(soon)
        else (),
        paragraphs=() if len(soon) else ("None.",),
        tables=(
            Table(
                ("Account", "Renews", "ARR", "Health", "Risk"),
                tuple(
                    (
                        row.account,
                        f"{today + dt.timedelta(days=int(row.days_to_renewal)):%Y-%m-%d}",
                        money(row.renewal_arr, currency),
                        f"{row.score:.0f}",
                        likelihood(row.probability),
                    )
                    for row in soon.head(ROWS).itertuples()
                ),
            ),
        )
        if len(soon)
        else (),
    )
    return [summary, at_risk, renewals, _followups(waiting)]


def _followups(waiting: list[OpenFollowUp]) -> Reply:
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
