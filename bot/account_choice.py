"""Turning what a user typed into one account, or a reply that says why not.

Finding the account is part of a command's one query (`metrics_core.accounts.lookup`
gives the `Resolution`, often read together with the answer about the account); this
module only words what the resolution says.

When the text is ambiguous or misspelt, the reply offers buttons instead of asking the user
to retype: each carries the command and the account's external id, so pressing it re-runs
the command on an exact id (see `bot.actions.PICK` and `Router.act`).
"""

from __future__ import annotations

import functools

from bot.actions import PICK
from bot.context import BotContext
from bot.formatting import echoed
from bot.reply import Action, Outcome, Reply, Table
from metrics_core.accounts import lookup
from metrics_core.accounts.lookup import AccountRef, Resolution

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


def which_account(usage: str) -> Reply:
    """The answer to a command that needs an account and was given none."""
    return Reply(
        heading="Which account?",
        paragraphs=(f"Usage: `{usage}` — an account name, domain or external id.",),
        outcome=Outcome.PROBLEM,
    )


def chosen_account(query: str, resolution: Resolution, command: str) -> AccountRef | Reply:
    """The one account `resolution` found for `query`, or the reply to send instead.

    `command` is the command's name (`health`): the pick buttons of a choice or a "did
    you mean" re-run it on the account chosen, so the user never types the question again.
    """
    if resolution.match is not None:
        return resolution.match
    if resolution.candidates:
        return _choice(query, resolution, command)
    return _nothing(query, resolution.closest, command)


async def resolve_account(
    query: str, context: BotContext, usage: str, command: str
) -> AccountRef | Reply:
    """The one account `query` names, or the reply to send instead (usage, choice, none).

    For commands that need only the account before their own query; a command that
    reads about the account reads the resolution in the same query instead.
    """
    if not query:
        return which_account(usage)
    resolution = await context.db.read(functools.partial(lookup.resolve_account, query=query))
    return chosen_account(query, resolution, command)
