"""Turning what a user typed into one account, or a reply that says why not."""

from __future__ import annotations

from bot.context import BotContext
from bot.reply import Reply, Table
from metrics_core.accounts import AccountRef, find_accounts


async def resolve_account(query: str, context: BotContext, usage: str) -> AccountRef | Reply:
    """The one account `query` names, or the reply to send instead (usage, none, several)."""
    if not query:
        return Reply(
            heading="Which account?",
            paragraphs=(f"Usage: `{usage}` — an account name, domain or external id.",),
        )
    matches = await context.db.read(lambda session: find_accounts(session, query))
    if not matches:
        return Reply(
            heading=f"No account matches “{query}”",
            paragraphs=("Try the account's name, its domain (acme.example) or its external id.",),
        )
    if len(matches) > 1:
        return Reply(
            heading=f"“{query}” matches {len(matches)} accounts",
            paragraphs=("Which one did you mean?",),
            tables=(
                Table(
                    columns=("Account", "External id", "Segment"),
                    rows=tuple((a.name, a.external_id, a.segment.value) for a in matches),
                ),
            ),
        )
    return matches[0]
