"""One router for every surface: a request in, a `Reply` out, never an exception.

Commands go to `handle`; button presses to `click` (and a form's answers to `submit`),
which own the click protocol described in `bot.clicks`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from bot.actions import (
    DETAILS,
    FOLLOW_UP_ACTIONS,
    OPEN,
    PICK,
    PLAYBOOK_ACTIONS,
    REFRESH,
    SCORE_WRONG,
    SHARE,
    shared,
    with_standard_actions,
)
from bot.clicks import Answer, Click, Delivery, ShowForm, answered, delivery
from bot.commands import Command
from bot.context import BotContext
from bot.handlers.details import account_details
from bot.handlers.follow_up_actions import act_on_follow_up, follow_up_form
from bot.handlers.help import HELP, unknown_command
from bot.handlers.playbooks import act_on_playbook, playbook_form
from bot.handlers.validity import LOOKS_WRONG_FORM, score_feedback
from bot.inbound import ActionRequest, CommandRequest
from bot.reply import Form, Outcome, Reply

log = logging.getLogger(__name__)
UMBRELLA = "closeloop"
MAX_COMMAND_CHARS = 1_000
"""Longer than any command and account name together; a longer text is a paste gone astray,
not a question, and is not worth searching accounts for."""


def _failed(what: str) -> Reply:
    """The user gets an answer they can quote to an admin; the log gets the details."""
    incident = uuid.uuid4().hex[:8]
    log.exception("%s failed (incident %s)", what, incident)
    return Reply(
        heading="Something went wrong",
        paragraphs=(
            f"{what} failed on our side. Please try again; if it keeps failing, give your "
            f"admin the incident id `{incident}`.",
        ),
        outcome=Outcome.FAILURE,
    )


def _too_long(request: CommandRequest) -> Reply | None:
    size = len(request.command) + len(request.args)
    if size <= MAX_COMMAND_CHARS:
        return None
    return Reply(
        heading="That command is too long",
        paragraphs=(
            f"It has {size:,} characters; a command has at most {MAX_COMMAND_CHARS:,}, "
            "e.g. `health acme`. `help` lists them.",
        ),
        outcome=Outcome.PROBLEM,
    )


class Router:
    def __init__(self, context: BotContext) -> None:
        self.context = context

    async def handle(self, request: CommandRequest) -> Reply:
        """Answer a command; `/closeloop health acme` is the same as `/health acme`.

        An empty command is answered with `help`, as is `/closeloop` alone.
        """
        if (refused := _too_long(request)) is not None:
            return refused
        request = self._plain(request)
        command = self.context.registry.get(request.command)
        if command is None:
            reply = unknown_command(request.command, self.context.registry)
            self.context.answered("unknown", reply.outcome, 0.0)
            return reply
        started = time.perf_counter()
        question = self._question(command, request)
        if question is not None:
            reply = await self.context.answers.answer(question, lambda: self._run(command, request))
        else:
            reply = await self._run(command, request)
        self.context.answered(command.name, reply.outcome, time.perf_counter() - started)
        return reply

    def remembered(self, request: CommandRequest) -> Reply | None:
        """The answer `handle` would give, if it is in memory and still right; else None.

        Without awaiting anything: an adapter that must answer within a budget can answer
        at once, and start work against the clock only for what must be computed.
        """
        if _too_long(request) is not None:
            return None
        request = self._plain(request)
        command = self.context.registry.get(request.command)
        if command is None or (question := self._question(command, request)) is None:
            return None
        reply = self.context.answers.remembered(question)
        if reply is not None:
            self.context.answered(command.name, reply.outcome, 0.0)
        return reply

    @staticmethod
    def _plain(request: CommandRequest) -> CommandRequest:
        """The command meant: `/closeloop health acme` is `/health acme`; nothing is help."""
        if request.command == UMBRELLA:
            request = CommandRequest.parse(request.args, request.actor, request.conversation)
        if not request.command:
            request = CommandRequest.parse(HELP, request.actor, request.conversation)
        return request

    def _question(
        self, command: Command, request: CommandRequest
    ) -> tuple[str, str, dt.date] | None:
        """What identifies an answer that may be reused (`Command.shared_answer`), or None."""
        if command.shared_answer is None or not command.shared_answer(request.args):
            return None
        return (command.name, request.args, self.context.today())

    async def _run(self, command: Command, request: CommandRequest) -> Reply:
        try:
            reply = await command.handler(request, self.context)
        except Exception:
            reply = _failed(f"`{request.command}`")
        if not command.read_only:
            return reply
        return with_standard_actions(reply, f"{request.command} {request.args}".strip())

    async def click(self, request: ActionRequest) -> Click:
        """A button press: the form it asks first, or its answer and where that goes.

        The form is asked when the press did not bring its required answers. A press that
        fails, even while reading what its form offers, answers like a command that fails.
        """
        try:
            form = await self.form(request)
        except Exception:
            failed = _failed("That button")
            return Answer(failed, delivery(request, failed))
        if form is not None and not answered(form, request.payload):
            return ShowForm(form)
        reply = await self.act(request)
        return Answer(reply, delivery(request, reply))

    async def submit(self, request: ActionRequest) -> Answer:
        """The answers to a form that `click` showed, merged into the action's payload.

        The form is not asked again: what it still lacks, the action names. What came of
        it is shown in the form's place.
        """
        return Answer(await self.act(request), Delivery.REPLACE)

    async def form(self, request: ActionRequest) -> Form | None:
        """What a button asks before it acts, if anything (`click` decides when to show it)."""
        if request.action_id in FOLLOW_UP_ACTIONS:
            return await follow_up_form(request, self.context)
        if request.action_id in PLAYBOOK_ACTIONS:
            return playbook_form(request)
        if request.action_id == SCORE_WRONG:
            return LOOKS_WRONG_FORM
        return None

    async def act(self, request: ActionRequest) -> Reply:
        """Answer a button press; a button that fails answers like a command that fails."""
        try:
            return await self._act(request)
        except Exception:
            return _failed("That button")

    async def _act(self, request: ActionRequest) -> Reply:
        """Act on a follow-up, or re-run the command the button's payload names."""
        if request.action_id in FOLLOW_UP_ACTIONS:
            return await act_on_follow_up(request, self.context)
        if request.action_id in PLAYBOOK_ACTIONS:
            return await act_on_playbook(request, self.context)
        if request.action_id == SCORE_WRONG:
            return await score_feedback(request, self.context)
        if request.action_id == DETAILS:
            reply = await account_details(request.payload.get("account", ""), self.context)
            return with_standard_actions(reply, "")
        text = request.payload.get("command", "")
        if request.action_id == PICK:
            text = f"{text} {request.payload.get('account', '')}"
        elif request.action_id not in (REFRESH, SHARE, OPEN):
            return Reply(heading="That button is no longer supported", outcome=Outcome.PROBLEM)
        if not text.strip():
            return Reply(
                heading="That button has lost its question; please ask again",
                outcome=Outcome.PROBLEM,
            )
        reply = await self.handle(CommandRequest.parse(text, request.actor, request.conversation))
        if request.action_id == SHARE and reply.outcome is Outcome.ANSWER:
            return shared(reply, request.actor)
        return reply  # a problem or a failure goes to the clicker, not the channel
