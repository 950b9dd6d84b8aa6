"""The buttons every answer can carry, and what pressing them does.

A button's payload holds the command text that produced the answer, so pressing it
re-runs that command: the same path, the same permissions, nothing cached in the card.
"""

from __future__ import annotations

import dataclasses

from bot.inbound import Actor
from bot.reply import Action, Outcome, Reply, Visibility

REFRESH = "closeloop.refresh"
SHARE = "closeloop.share"
PICK = "closeloop.pick"
DETAILS = "closeloop.details"
OPEN = "closeloop.open"
"""Run the command in the payload for the clicker, privately (digest links to commands)."""


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
