"""Every button's action id, and the buttons every answer can carry.

This is the one list of action ids: the router acts on them, the click protocol
(`bot.clicks`) decides where their answers go, and adapters register them with their
platform. An answer's buttons hold the command text that produced it, so pressing one
re-runs that command: the same path, the same permissions, nothing cached in the card.
An alert's buttons (Claim, Reassign, Close) hold only the follow-up id.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from bot.inbound import Actor
from bot.reply import Action, Outcome, Reply, Visibility

REFRESH = "closeloop.refresh"
SHARE = "closeloop.share"
PICK = "closeloop.pick"
DETAILS = "closeloop.details"
OPEN = "closeloop.open"
"""Run the command in the payload for the clicker, privately (digest links to commands)."""
CLAIM = "closeloop.claim"
REASSIGN = "closeloop.reassign"
CLOSE = "closeloop.close"
ADVOCACY = "closeloop.advocacy"
"""Record what a promoter did for us (a referral, a review …) on their follow-up."""
SCORE_WRONG = "closeloop.score_wrong"
"""Say an account's health score looks wrong: which way, and why (`health validity` counts it)."""
PLAY_DONE = "closeloop.play_done"
PLAY_SKIP = "closeloop.play_skip"
RUN_DROP = "closeloop.run_drop"
PLAYBOOK_ACTIONS: Final = frozenset({PLAY_DONE, PLAY_SKIP, RUN_DROP})
"""The buttons of a playbook run's checklist: mark a play done (with a note, which may be
empty), skip it (with a note), or drop the run (with a note). They hold only the run and the
play's number."""

FOLLOW_UP_ACTIONS: Final = frozenset({CLAIM, REASSIGN, CLOSE, ADVOCACY})
"""The buttons of a survey alert: they act on its follow-up, and the alert everyone sees is
edited in place once the change is committed, never replaced by the answer to a click."""
ACTION_IDS: Final = (
    REFRESH,
    SHARE,
    PICK,
    DETAILS,
    OPEN,
    CLAIM,
    REASSIGN,
    CLOSE,
    ADVOCACY,
    SCORE_WRONG,
    PLAY_DONE,
    PLAY_SKIP,
    RUN_DROP,
)
"""Every action id the router knows, for adapters that register buttons by id."""


def details_action(external_id: str) -> Action:
    """The button that opens one account at a glance."""
    return Action(DETAILS, "Account details", {"account": external_id})


def open_action(label: str, command_text: str) -> Action:
    """A button that answers `command_text` to whoever clicks it, leaving the message be."""
    return Action(OPEN, label, {"command": command_text})


def with_standard_actions(reply: Reply, command_text: str) -> Reply:
    """A private answer gains Refresh and Share in channel; a shared one, Refresh only.

    A problem (not understood, nothing found) gains neither: asking the same again gives
    the same problem, and nobody needs it in a channel. A failure gains "Try again".
    """
    if not command_text or any(a.action_id == PICK for a in reply.actions):
        # An answer to a button has nothing to re-run; a "did you mean" is a question.
        return reply
    payload = {"command": command_text}
    if reply.outcome is Outcome.PROBLEM:
        return reply
    if reply.outcome is Outcome.FAILURE:
        return dataclasses.replace(
            reply, actions=(*reply.actions, Action(REFRESH, "Try again", payload))
        )
    extra = [Action(REFRESH, "Refresh", payload)]
    if reply.visibility is Visibility.PRIVATE:
        extra.append(Action(SHARE, "Share in channel", payload))
    return dataclasses.replace(reply, actions=(*reply.actions, *extra))


def shared(reply: Reply, actor: Actor) -> Reply:
    """The channel version of an answer: visible to all, saying who shared it."""
    note = f"Shared by {actor.display_name}" if actor.display_name else "Shared from Closeloop"
    return dataclasses.replace(
        reply,
        visibility=Visibility.CHANNEL,
        actions=tuple(a for a in reply.actions if a.action_id != SHARE),
        notes=(*reply.notes, note),
    )
