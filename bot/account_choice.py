"""Turning what a user typed into one account, or a reply that says why not.

When the text is ambiguous or misspelt, the reply offers buttons instead of asking the user
to retype: each carries the command and the account's external id, so pressing it re-runs
the command on an exact id (see `bot.actions.PICK` and `Router.act`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from sqlalchemy.orm import Session

from bot.actions import PICK
from bot.context import BotContext
from bot.formatting import echoed
from bot.reply import Action, Outcome, Reply, Table
from metrics_core.accounts.lookup import AccountRef, Resolution
from metrics_core.accounts.lookup import resolve_account as resolve_in_session

T = TypeVar("T")

MAX_LABEL = 75
"""Slack's limit on button text; Teams shows long labels badly too, so one rule for both."""


def _label(account: AccountRef, duplicated: bool) -> str:
    """The button text: the name, plus the external id when two candidates share a name."""
    text = f"{account.name} ({account.external_id})" if duplicated else account.name
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _pick_actions(accounts: tuple[AccountRef, ...], command: str) -> tuple[Action, ...]:
    names = [a.name.casefold() for a in accounts]
    return tuple(
        Action(
            PICK,
            _label(a, names.count(a.name.casefold()) > 1),
            {"command": command, "account": a.external_id},
        )
        for a in accounts
    )


def _choice(query: str, resolution: Resolution, command: str) -> Reply:
    shown = len(resolution.candidates)
    paragraphs = []
    if resolution.total > shown:
        paragraphs.append(
            f"These are the {shown} closest; type more of the name to narrow it down."
        )
    return Reply(
        heading=f"“{echoed(query)}” matches {resolution.total} accounts — which one?",
        paragraphs=tuple(paragraphs),
        tables=(
            Table(
                columns=("Account", "External id", "Segment"),
                rows=tuple((a.name, a.external_id, a.segment.value) for a in resolution.candidates),
            ),
        ),
        actions=_pick_actions(resolution.candidates, command),
    )


def _nothing(query: str, closest: AccountRef | None, command: str) -> Reply:
    if closest is None:
        return Reply(
            heading=f"No account matches “{echoed(query)}”",
            paragraphs=("Try the account's name, its domain (acme.example) or its external id.",),
            outcome=Outcome.PROBLEM,
        )
    return Reply(
        heading=f"No account matches “{echoed(query)}”",
        paragraphs=(f"Did you mean {closest.name}?",),
        actions=_pick_actions((closest,), command),
        outcome=Outcome.PROBLEM,
    )


async def resolve_account(
    query: str, context: BotContext, usage: str, command: str
) -> AccountRef | Reply:
    """The one account `query` names, or the reply to send instead (usage, choice, none).

    `command` is the command's name (`health`): the pick buttons re-run it on the account
    chosen, so the user never has to type the question again.
    """
    found = await read_about_account(query, context, usage, command, lambda _s, _a: None)
    return found if isinstance(found, Reply) else found[0]


async def read_about_account(
    query: str,
    context: BotContext,
    usage: str,
    command: str,
    work: Callable[[Session, AccountRef], T],
) -> tuple[AccountRef, T] | Reply:
    """Like `resolve_account`, and `work` about the account in the same read.

    A quick answer costs little more than its trips to the database thread, so finding
    the account and reading about it share one.
    """
    if not query:
        return Reply(
            heading="Which account?",
            paragraphs=(f"Usage: `{usage}` — an account name, domain or external id.",),
            outcome=Outcome.PROBLEM,
        )

    def read(session: Session) -> tuple[Resolution, T | None]:
        resolution = resolve_in_session(session, query)
        if resolution.match is None:
            return resolution, None
        return resolution, work(session, resolution.match)

    resolution, found = await context.db.read(read)
    if resolution.match is not None:
        return resolution.match, cast(T, found)
    if resolution.candidates:
        return _choice(query, resolution, command)
    return _nothing(query, resolution.closest, command)
