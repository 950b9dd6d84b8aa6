"""`playbooks [mine | all | stats … | run <number> | <account>]`, and a checklist's buttons.

`playbooks` alone is `playbooks mine`: the asker's open runs, overdue plays first. `all`
lists everyone's and is for managers and admins. An account lists its open runs and its
latest finished ones. `run <number>` shows one run's checklist with its buttons, which is
where the lists' "Open" buttons lead. `stats` is whether the playbooks worked
(`bot.handlers.playbook_stats`). Each reads one query.

The buttons (Done, Skip, Drop run) act as the person who pressed them, looked up by their
chat id when they press; the run's owner, managers and admins may (anyone on the CS team
while the run has no owner), as `metrics_core.playbooks.runs` decides. Each asks a note
first: Skip and Drop must say why, Done may say what was done.
"""

from __future__ import annotations

import functools

from bot.account_choice import chosen_account
from bot.actions import PLAY_DONE, PLAY_SKIP, RUN_DROP
from bot.context import BotContext
from bot.formatting import echoed
from bot.handlers.playbook_stats import STATS, playbook_stats_command
from bot.identity import not_on_team, team_member
from bot.inbound import ActionRequest, CommandRequest
from bot.messages.playbooks import (
    account_reply,
    done_form,
    drop_form,
    list_reply,
    note_field,
    run_reply,
    skip_form,
)
from bot.reply import Form, Outcome, Reply, Visibility
from metrics_core.playbooks.runs import Outcome as Change
from metrics_core.playbooks.runs import (
    RunChange,
    account_runs,
    drop_run,
    mark_play,
    open_runs,
    run_view,
)
from metrics_core.store.models import PlaybookRunStatus, PlayStatus, TeamRole

USAGE = "playbooks [mine | all | stats [playbook] [segment] | run <number> | <account>]"
MANAGERS = (TeamRole.MANAGER, TeamRole.ADMIN)


def _usage(heading: str) -> Reply:
    return Reply(
        heading=heading,
        paragraphs=(
            f"Usage: `{USAGE}`.",
            "For example `playbooks`, `playbooks acme` or `playbooks run 12`.",
        ),
        outcome=Outcome.PROBLEM,
    )


async def _mine(request: CommandRequest, context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor)
    now = context.now()
    runs = await context.db.read(functools.partial(open_runs, now=now, owner_id=member.id))
    return list_reply(
        "Your playbook runs", runs, now, owner=False, configured=bool(context.config.playbooks)
    )


async def _all(request: CommandRequest, context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor)
    if member.role not in MANAGERS:
        return Reply(
            heading="Only managers and admins list everyone's runs",
            paragraphs=("`playbooks mine` lists yours; `playbooks <account>` an account's.",),
            outcome=Outcome.PROBLEM,
        )
    now = context.now()
    runs = await context.db.read(functools.partial(open_runs, now=now))
    return list_reply(
        "Open playbook runs", runs, now, owner=True, configured=bool(context.config.playbooks)
    )


async def _run(words: list[str], context: BotContext) -> Reply:
    number = words[0].lstrip("#") if len(words) == 1 else ""
    if not number.isdecimal():
        return _usage("Which run? Give its number, e.g. `playbooks run 12`")
    run = await context.db.read(functools.partial(run_view, run_id=int(number)))
    if run is None:
        return Reply(heading=f"There is no playbook run #{int(number)}", outcome=Outcome.PROBLEM)
    return run_reply(run, context.now(), currency=context.config.revenue.currency)


async def _account(text: str, context: BotContext) -> Reply:
    now = context.now()
    found = await context.db.read(functools.partial(account_runs, text=text, now=now))
    account = chosen_account(text, found.resolution, "playbooks")
    if isinstance(account, Reply):
        return account
    return account_reply(found, account.name, now, configured=bool(context.config.playbooks))


async def playbooks_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    first = words[0].lower() if words else "mine"
    if first == "mine" and len(words) <= 1:
        return await _mine(request, context)
    if first == "all" and len(words) == 1:
        return await _all(request, context)
    if first == "run" and len(words) > 1:
        return await _run(words[1:], context)
    if first == STATS:
        return await playbook_stats_command(request, context)
    if first in ("mine", "all", "run"):
        return _usage(f"I don't understand “{echoed(request.args)}”")
    return await _account(request.args, context)


# --- the checklist's buttons -----------------------------------------------------------


def _number(request: ActionRequest, name: str) -> int | None:
    raw = request.payload.get(name, "")
    return int(raw) if raw.isdecimal() else None


def playbook_form(request: ActionRequest) -> Form | None:
    """What a checklist button asks first: a note to mark a play done (it may be empty),
    to skip it or to drop the run."""
    position = _number(request, "play")
    if request.action_id == PLAY_DONE and position is not None:
        return done_form(position)
    if request.action_id == PLAY_SKIP and position is not None:
        return skip_form(position)
    if request.action_id == RUN_DROP:
        return drop_form()
    return None


def _refused(change: RunChange) -> Reply:
    run = change.run
    headings = {
        Change.ALREADY: "That play is marked already",
        Change.CLOSED: "That run is over"
        + (f": it was {run.status.value}" if run is not None else ""),
        Change.NOT_FOUND: change.detail or "That playbook run no longer exists",
        Change.NOT_ALLOWED: "Not yours to change"
        + (f": {change.detail}" if change.detail else "")
        + (f" (owner: {run.owner})" if run is not None and run.owner else ""),
        Change.INVALID: f"Not done: {change.detail or 'invalid input'}",
    }
    return Reply(heading=headings[change.outcome], outcome=Outcome.PROBLEM)


def _what_happened(request: ActionRequest, change: RunChange, who: str) -> str:
    if request.action_id == RUN_DROP:
        return f"{who} dropped the run."
    position = request.payload.get("play", "?")
    verb = "done" if request.action_id == PLAY_DONE else "skipped"
    text = f"{who} marked play {position} {verb}."
    run = change.run
    if change.completed and run is not None and run.status is PlaybookRunStatus.COMPLETED:
        text += " That was the last one: the run is complete."
    return text


async def act_on_playbook(request: ActionRequest, context: BotContext) -> Reply:
    """Mark a play done or skipped, or drop the run, as the person who pressed."""
    run_id = _number(request, "run")
    position = _number(request, "play")
    if run_id is None or (request.action_id != RUN_DROP and position is None):
        return Reply(
            heading="That button has lost its run; open the checklist again",
            outcome=Outcome.PROBLEM,
        )
    member = await team_member(request.actor, context)
    if member is None:
        return Reply(
            heading="Only the CS team can work playbooks",
            paragraphs=("Ask an admin to add you to the team (`closeloop import team`).",),
            outcome=Outcome.PROBLEM,
        )
    now = context.now()
    note = request.payload.get(note_field(request.action_id, position))
    if request.action_id == RUN_DROP:
        change = await context.db.write(
            functools.partial(drop_run, run_id=run_id, member=member, note=note, now=now)
        )
    else:
        assert position is not None
        status = PlayStatus.DONE if request.action_id == PLAY_DONE else PlayStatus.SKIPPED
        change = await context.db.write(
            functools.partial(
                mark_play,
                run_id=run_id,
                position=position,
                member=member,
                status=status,
                note=note,
                now=now,
            )
        )
    if change.outcome is not Change.DONE or change.run is None:
        return _refused(change)
    context.outbox_changed()
    done = _what_happened(request, change, "You")
    if request.clicked_on is Visibility.CHANNEL:
        # The checklist others see is edited in place by the dispatcher: a line is enough.
        return Reply(heading=f"Done: {done[0].lower()}{done[1:]}")
    return run_reply(change.run, now, currency=context.config.revenue.currency, done=done)
