"""What an alert says: the `Reply` for each kind of message the outbox delivers.

Alerts are rendered from the current state of what they announce each time they are
sent or edited (`metrics_core.delivery.alert_facts` reads it), so a claimed follow-up
shows its owner and a closed one its outcome in the very message the team saw first. The
buttons carry only the follow-up id; who may press them is decided when they are pressed.
"""

from __future__ import annotations

import datetime as dt

from bot.actions import ADVOCACY, CLAIM, CLOSE, REASSIGN, details_action
from bot.formatting import money
from bot.handlers.health import BAND_TONE
from bot.handlers.value import ADVOCACY_NAMES, advocacy_name
from bot.messages.playbooks import playbook_message
from bot.reply import Action, Choice, Fact, Field, Form, Metric, Reply, Tone, Visibility
from bot.reply_codec import decode
from metrics_core.accounts.team import Member
from metrics_core.config import Config
from metrics_core.delivery.account_alerts import USAGE_DROP
from metrics_core.delivery.alert_facts import (
    ACCOUNT_ALERTS,
    AccountStanding,
    AlertFacts,
    SurveyAlertFacts,
)
from metrics_core.delivery.outbox import Due
from metrics_core.digests.subscriptions import DIGEST
from metrics_core.followups.work import ALERT, ESCALATION, REMINDER, FollowUpView
from metrics_core.playbooks.runs import PLAYBOOK_MESSAGES
from metrics_core.store.models import (
    SCORE_RANGES,
    AdvocacyKind,
    AnswerBand,
    FollowUpStatus,
    Segment,
)

_BAND_TONE = {
    AnswerBand.DETRACTOR: Tone.BAD,
    AnswerBand.PASSIVE: Tone.WARNING,
    AnswerBand.PROMOTER: Tone.GOOD,
}


def close_form(outcomes: list[str]) -> Form:
    return Form(
        title="Close the loop",
        submit="Close",
        fields=(
            Field(
                "outcome",
                "Outcome",
                choices=tuple(Choice(o, o.replace("_", " ").capitalize()) for o in outcomes),
            ),
            Field("note", "Note", multiline=True, optional=True),
        ),
    )


def reassign_form(members: list[Member]) -> Form:
    return Form(
        title="Reassign",
        submit="Reassign",
        fields=(
            Field("owner", "New owner", choices=tuple(Choice(str(m.id), m.name) for m in members)),
        ),
    )


def advocacy_form() -> Form:
    """What "Record advocacy" asks: what the promoter did, and a note. The fields are named
    apart from Close's, since Teams shows both forms' inputs on the one card."""
    return Form(
        title="Record advocacy",
        submit="Record",
        fields=(
            Field(
                "advocacy_kind",
                "What did they do?",
                choices=tuple(Choice(kind.value, advocacy_name(kind)) for kind in AdvocacyKind),
            ),
            Field("advocacy_note", "Note", multiline=True, optional=True),
        ),
    )


def follow_up_actions(view: FollowUpView, config: Config) -> tuple[Action, ...]:
    """Claim while open, reassign and close until closed, and the account either way; a
    promoter's with an account can record their advocacy, before or after the close."""
    payload = {"follow_up": str(view.id)}
    actions: list[Action] = []
    if view.status is FollowUpStatus.OPEN:
        actions.append(Action(CLAIM, "Claim", payload, primary=True))
    if view.status is not FollowUpStatus.CLOSED:
        actions.append(Action(REASSIGN, "Reassign", payload))
        actions.append(Action(CLOSE, "Close", payload, form=close_form(config.follow_ups.outcomes)))
    if view.band is AnswerBand.PROMOTER and view.account_id is not None:
        actions.append(Action(ADVOCACY, "Record advocacy", payload, form=advocacy_form()))
    if view.account_external_id:
        actions.append(details_action(view.account_external_id))
    return tuple(actions)


def _suggestion(view: FollowUpView) -> str | None:
    """What to do with a promoter while the goodwill is fresh."""
    if view.band is not AnswerBand.PROMOTER:
        return None
    if view.segment is Segment.ENTERPRISE:
        return "Suggested: ask for a case study or a reference call."
    if (view.comment or "").strip():
        return "Suggested: ask them to post this as a public review."
    return "Suggested: ask for a referral."


def _when(instant: dt.datetime) -> str:
    return f"{instant:%Y-%m-%d %H:%M} UTC"


def _status(view: FollowUpView) -> str:
    if view.status is FollowUpStatus.CLOSED:
        outcome = (view.outcome or "closed").replace("_", " ")
        text = f"Closed by {view.owner or 'someone'}: {outcome}"
        return f"{text} — {view.note}" if view.note else text
    if view.status is FollowUpStatus.CLAIMED:
        since = f" since {_when(view.claimed_at)}" if view.claimed_at else ""
        return f"Claimed by {view.owner}{since}"
    return "Open — unclaimed"


def _respondent(view: FollowUpView) -> str:
    if view.respondent_name and view.respondent_email:
        return f"{view.respondent_name} <{view.respondent_email}>"
    return view.respondent_name or view.respondent_email or "anonymous"


def survey_alert(alert: SurveyAlertFacts, config: Config) -> Reply:
    view, account = alert.view, alert.account
    low, high = SCORE_RANGES[view.kind]
    kind = view.kind.value.upper()
    where = view.account_name or "unmatched respondent"
    metrics = [
        Metric(
            kind,
            f"{view.score} / {high}" if low == 0 else f"{view.score} ({low}–{high})",
            tone=_BAND_TONE[view.band],
            detail=view.band.value.capitalize(),
        )
    ]
    facts = [Fact("Respondent", _respondent(view)), Fact("Status", _status(view))]
    notes: list[str] = []
    if account is not None:
        if account.health_score is not None and account.health_band is not None:
            metrics.append(
                Metric(
                    "Health",
                    f"{account.health_score:.0f}/100",
                    tone=BAND_TONE[account.health_band],
                )
            )
        facts.insert(
            1,
            Fact("Account", f"{view.account_name} ({view.segment.value if view.segment else '—'})"),
        )
        facts.insert(2, Fact("ARR", money(account.arr, config.revenue.currency)))
        if view.account_owner:
            facts.append(Fact("Account owner", view.account_owner))
    else:
        notes.append(
            "No account matches this respondent: it is in the unmatched queue "
            "(`/followups unmatched`). Add the contact or the account's domain to match it."
        )
    facts.append(Fact("Answered", _when(view.submitted_at)))
    if view.advocacy:
        recorded = ", ".join(ADVOCACY_NAMES[kind][0] for kind in view.advocacy)
        facts.append(Fact("Advocacy recorded", recorded[0].upper() + recorded[1:]))
    suggestion = _suggestion(view)
    if suggestion and view.status is not FollowUpStatus.CLOSED:
        notes.append(suggestion)
    comment = (view.comment or "").strip()
    return Reply(
        heading=f"{kind} {view.band.value}: {where}",
        paragraphs=(f"“{comment}”",) if comment else (),
        metrics=tuple(metrics),
        facts=tuple(facts),
        notes=tuple(notes),
        actions=follow_up_actions(view, config),
        visibility=Visibility.CHANNEL,
    )


def _sla_message(view: FollowUpView, kind: str, config: Config, now: dt.datetime) -> Reply:
    waited = (now - view.created_at).total_seconds() / 3600
    who = view.account_name or _respondent(view)
    if kind == REMINDER:
        heading = f"Reminder: {view.kind.value.upper()} {view.band.value} from {who} is unclaimed"
        text = (
            f"Waiting {waited:.0f} h; it escalates at {config.follow_ups.escalate_after_hours:g} h."
        )
    else:
        heading = f"SLA missed: {view.kind.value.upper()} {view.band.value} from {who}"
        text = (
            f"Unclaimed for {waited:.0f} h (SLA {config.follow_ups.escalate_after_hours:g} h)."
            f" Account owner: {view.account_owner or 'none'}."
        )
    if view.status is not FollowUpStatus.OPEN:
        text = f"Now {_status(view).lower()}."
    comment = (view.comment or "").strip()
    return Reply(
        heading=heading,
        paragraphs=(text, f"“{comment}”") if comment else (text,),
        actions=follow_up_actions(view, config),
        visibility=Visibility.CHANNEL,
    )


def _account_alert(due: Due, account: AccountStanding | None, config: Config) -> Reply:
    if account is None:
        return Reply(heading="An account alert about an account that no longer exists")
    details = due.details
    if due.kind == USAGE_DROP:
        drop = float(details.get("drop", 0.0))
        heading = f"Usage down {drop:.0%}: {account.name}"
        text = (
            f"Active use over the last {details.get('recent_days', 7)} days is {drop:.0%} below "
            "the same weekdays of the weeks before."
        )
        tone = Tone.BAD
    else:
        heading = f"Health {details.get('from', '?')} → {details.get('to', '?')}: {account.name}"
        text = f"Health is now {float(details.get('score', 0)):.0f}/100."
        if details.get("reason"):
            text += f" Biggest drag: {details['reason']}."
        tone = Tone.BAD if details.get("to") == "red" else Tone.WARNING
    return Reply(
        heading=heading,
        paragraphs=(text,),
        metrics=(
            Metric(
                "ARR",
                money(account.arr, config.revenue.currency),
                tone=tone,
            ),
        ),
        actions=(details_action(account.external_id),),
        visibility=Visibility.CHANNEL,
    )


def alert_reply(facts: AlertFacts, config: Config, now: dt.datetime) -> Reply:
    """The message for one outbox row, as things stand now (a digest: as it was decided)."""
    due = facts.due
    if due.kind == DIGEST:
        return decode(due.details["reply"])
    if due.kind in ACCOUNT_ALERTS:
        return _account_alert(due, facts.account, config)
    if due.kind in PLAYBOOK_MESSAGES:
        return playbook_message(due, facts.run, config, now)
    if facts.follow_up is None:
        return Reply(heading="This follow-up no longer exists", visibility=Visibility.CHANNEL)
    if due.kind == ALERT:
        return survey_alert(facts.follow_up, config)
    if due.kind in (REMINDER, ESCALATION):
        return _sla_message(facts.follow_up.view, due.kind, config, now)
    return Reply(heading=f"Unknown alert kind {due.kind!r}", visibility=Visibility.CHANNEL)
