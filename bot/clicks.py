"""The click protocol: what a button press comes to, decided once for every surface.

A press goes to `Router.click`, which answers with a `Click`:

- `ShowForm`: the action asks something first (closing a follow-up asks its outcome) and
  the press did not bring the answers. The adapter shows the form; what is entered comes
  back merged into the action's payload, through `Router.submit`.
- `Answer`: the router acted, and says where the reply goes (`Delivery`): in place of
  the clicked message, as a new message, or as a notice to the clicker alone.

Adapters only translate a `Click` into their platform's terms, and decide nothing:

| | Slack | Teams | a surface of its own (the playground) |
|---|---|---|---|
| `ShowForm` | a modal (`views.open`) | a card of inputs posted in the conversation | a form |
| `REPLACE` | response_url, `replace_original` | the invoke response's card | the answer in place |
| `POST` | response_url, a new message | a card posted, a line for the clicker | a new answer |
| `NOTICE` | response_url, a new private message | a line for the clicker alone | a notice |

What an adapter tells the router is only what the press carries: the action id, its
payload, who pressed (as the platform authenticated them) and, when the platform knows,
who sees the clicked message (`ActionRequest.clicked_on`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from bot.actions import DETAILS, FOLLOW_UP_ACTIONS, OPEN, PLAYBOOK_ACTIONS, SCORE_WRONG, SHARE
from bot.inbound import ActionRequest
from bot.reply import Form, Outcome, Reply, Visibility


class Delivery(enum.StrEnum):
    """Where the reply to a press goes."""

    REPLACE = "replace"
    """In place of the clicked message: the clicker's own answer, or the form they just
    submitted, which then shows what came of it."""
    POST = "post"
    """As a new message, to the clicker alone, or to the conversation when the reply is
    shared (`Visibility.CHANNEL`); the clicked message stays as it is."""
    NOTICE = "notice"
    """A short notice to the clicker alone of what the button did. The clicked message is
    an alert everyone sees: it stays, and the dispatcher edits it in place once the change
    is committed."""


@dataclass(frozen=True, slots=True)
class ShowForm:
    """Ask `form` before acting; its answers come back through `Router.submit`."""

    form: Form


@dataclass(frozen=True, slots=True)
class Answer:
    """The router acted: `reply`, delivered as `delivery` says."""

    reply: Reply
    delivery: Delivery


Click: TypeAlias = ShowForm | Answer
"""What a press comes to: a form to show first, or an answer and where it goes."""

_OWN_MESSAGE = frozenset({SHARE, DETAILS, OPEN})
"""Answers that belong in a message of their own: a share is for everyone, account details
and an opened command answer another question than the clicked message."""


def answered(form: Form, payload: Mapping[str, str]) -> bool:
    """Whether `payload` already holds every required answer of `form`.

    A platform that shows a form on the message itself (a Teams card's inputs) sends the
    answers with the press; the form is asked only when they are missing. A form whose
    every answer is optional (Done's note) is answered once the press carries any of its
    fields, even blank: a press without them did not show it, and it is asked.
    """
    if form.fields and all(field.optional for field in form.fields):
        return any(field.name in payload for field in form.fields)
    return all(field.optional or payload.get(field.name, "").strip() for field in form.fields)


def delivery(request: ActionRequest, reply: Reply) -> Delivery:
    """Where the reply to a press goes: the one rule for every surface.

    A message everyone sees is never replaced by the answer to one person's click: an
    alert's buttons answer with a notice, and anything else is posted anew. "This score
    looks wrong" thanks with a notice wherever it is, leaving the disputed answer be. The clicker's
    own answer is replaced, unless the button opens another answer on purpose. When the
    platform cannot tell who sees the clicked message, a button that asks the same question
    again (Refresh, a "did you mean" pick) replaces it, and one whose answer belongs in a
    message of its own (Share, Account details, Open) posts it, so an alert is never
    replaced by account details. A playbook checklist's buttons answer with the checklist
    itself, the same for everyone: it replaces the clicked copy unless others see that copy
    (then a notice, and the dispatcher edits it).
    """
    if request.action_id in FOLLOW_UP_ACTIONS:
        return Delivery.NOTICE
    if request.action_id == SCORE_WRONG:
        # The thanks are for the clicker; the health answer they disputed stays as it was.
        return Delivery.NOTICE
    if request.action_id in PLAYBOOK_ACTIONS:
        # A run's checklist reads the same for everyone: the clicker's own copy (or one the
        # platform cannot place) shows the change in place; a checklist others see (the
        # owner's message, which the dispatcher edits) and a refusal get a notice.
        if reply.outcome is Outcome.ANSWER and request.clicked_on is not Visibility.CHANNEL:
            return Delivery.REPLACE
        return Delivery.NOTICE
    if request.action_id == OPEN or reply.visibility is Visibility.CHANNEL:
        return Delivery.POST
    if request.clicked_on is Visibility.PRIVATE:
        return Delivery.REPLACE
    if request.clicked_on is Visibility.CHANNEL or request.action_id in _OWN_MESSAGE:
        return Delivery.POST
    return Delivery.REPLACE
