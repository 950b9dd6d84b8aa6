"""`health validity [segment]` and the "This score looks wrong" button on health answers.

Both answer one question, "should we believe the score?": the first from the company's own
renewals (did accounts the score called red churn more?), the second from the people who
know the accounts. The button's submissions are counted in the first.

A CS leader reads the validity report to decide whether to act on the score, so every rate
carries its count and interval, "not enough renewals yet" is said plainly, and the weights
the backtest prefers are shown beside today's as a suggestion that changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools

from bot.actions import SCORE_WRONG
from bot.args import parse_segment
from bot.charts import number
from bot.context import BotContext
from bot.formatting import count, echoed, interval, percent
from bot.identity import team_member
from bot.inbound import ActionRequest, Actor
from bot.reply import (
    Action,
    Chart,
    ChartKind,
    Choice,
    Fact,
    Field,
    Form,
    Metric,
    Outcome,
    Reply,
    Series,
    Table,
    Tone,
)
from metrics_core.churn.evaluation import MIN_CLASS_FOR_AUC_INTERVAL, AucEstimate
from metrics_core.health.feedback import (
    MAX_REASON_CHARS,
    Borne,
    Direction,
    FeedbackSummary,
    Stored,
    record_feedback,
)
from metrics_core.health.validity import (
    LEAD_DAYS,
    MIN_EACH_OUTCOME,
    MIN_RENEWALS,
    ComponentSignal,
    Signal,
    ValidityReport,
    health_validity,
)
from metrics_core.proportions import Rate
from metrics_core.store.models import Segment

VALIDITY = "validity"
USAGE = "health validity [segment]"
SEGMENT_HINT = "a segment: Enterprise, Mid-market or SMB"
CHECKPOINT = f"{LEAD_DAYS}–{LEAD_DAYS + 29} days before the renewal"

# --- shared with `nps insights` -------------------------------------------------------------


def segment_asked(words: list[str], usage: str, subject: str) -> Segment | Reply | None:
    """The segment a report was asked about (None: all customers), or why the words are not one.

    `subject` names what the first word also could have been, for the hint: an account
    called "Validity Inc" is asked about by its domain or external id instead.
    """
    if not words:
        return None
    if len(words) == 1 and (segment := parse_segment(words[0])) is not None:
        return segment
    return Reply(
        heading=f"I don't understand “{echoed(' '.join(words))}”",
        paragraphs=(
            f"Usage: `{usage}`, with {SEGMENT_HINT}. For an account whose name starts with "
            f"“{subject}”, give its domain or external id.",
        ),
        outcome=Outcome.PROBLEM,
    )


def day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"


def scope_name(segment: Segment | None) -> str:
    return segment.value if segment is not None else "all customers"


def rate_cell(rate: Rate) -> str:
    """`14 % (34 of 246)`: a rate is never shown without what it is a share of."""
    if rate.share is None:
        return "no renewals"
    return f"{percent(rate.share, 0)} ({rate.events} of {rate.n})"


def ci_cell(rate: Rate) -> str:
    if rate.n == 0:
        return "—"
    if rate.ci_low is None or rate.ci_high is None:
        return "too few for an interval"
    return interval(
        rate.ci_low * 100, rate.ci_high * 100, lambda v: f"{v:.0f}", sep="–", unit=" %", label=""
    )


# --- health validity --------------------------------------------------------------------------


async def validity_command(words: list[str], context: BotContext) -> Reply:
    segment = segment_asked(words, USAGE, VALIDITY)
    if isinstance(segment, Reply):
        return segment
    report = await context.db.read(
        functools.partial(
            health_validity, as_of=context.today(), config=context.config, segment=segment
        )
    )
    return validity_reply(report)


def _auc_bounds(auc: AucEstimate) -> str | None:
    """`0.78–0.91`, or None when there is no interval (`AucEstimate` says when)."""
    if auc.ci_low is None or auc.ci_high is None:
        return None
    return interval(auc.ci_low, auc.ci_high, lambda v: f"{v:.2f}", sep="–", label="")


def _auc_detail(auc: AucEstimate) -> str:
    """The interval and the counts behind an AUC, or why it has no interval."""
    counts = f"{auc.positives} churned, {auc.negatives} renewed"
    bounds = _auc_bounds(auc)
    if bounds is not None:
        return f"95 % CI {bounds}; {counts}"
    if auc.auc in (0.0, 1.0):
        return f"{counts}, never overlapping: no interval"
    return f"{counts}: an interval needs {MIN_CLASS_FOR_AUC_INTERVAL} of each"


def _auc_cell(auc: AucEstimate | None) -> str:
    if auc is None:
        return "no data"
    return f"{auc.auc:.2f} ({_auc_bounds(auc) or 'no interval'})"


def _auc_tone(auc: AucEstimate | None) -> Tone:
    if auc is None or auc.ci_low is None:
        return Tone.NEUTRAL
    return Tone.GOOD if auc.ci_low >= 0.7 else Tone.WARNING if auc.ci_low > 0.5 else Tone.BAD


def _verdict(report: ValidityReport) -> str:
    """One sentence on whether the score can be trusted to warn, from its AUC's interval."""
    auc = report.auc
    if auc is None:
        return "Every scored renewal had the same outcome: nothing to rank."
    ranked = (
        f"A churned account scored below a renewing one {percent(auc.auc, 0)} of the time "
        f"(AUC {auc.auc:.2f}, {_auc_detail(auc)}; 0.5 is a coin toss)"
    )
    if auc.ci_low is None or auc.ci_high is None:
        return f"{ranked}: too few renewals of one kind to say how sure that is."
    if auc.ci_low >= 0.7:
        return f"{ranked}: the score gives a real warning {CHECKPOINT}."
    if auc.ci_low > 0.5:
        return f"{ranked}: the score carries some warning {CHECKPOINT}, but it misses often."
    if auc.ci_high < 0.5:
        return f"{ranked}: healthier scores went with more churn. Do not act on this score."
    return f"{ranked}: these renewals do not show that the score tells churners apart."


def _lift_metric(report: ValidityReport) -> Metric:
    red = report.bands[0].churn
    if report.red_lift is None or red.share is None:
        return Metric(
            "Lift of red",
            "—",
            detail=f"no scored account was red {CHECKPOINT}",
        )
    return Metric(
        "Lift of red",
        f"{report.red_lift:.1f}×",
        tone=Tone.GOOD if report.red_lift >= 2 else Tone.WARNING,
        detail=(f"red churned {rate_cell(red)} against {percent(report.overall.share, 0)} overall"),
    )


def _band_table(report: ValidityReport) -> Table:
    overall = report.overall.share or 0.0
    rows = []
    for row in report.bands:
        share = row.churn.share
        lift = f"{share / overall:.1f}×" if share is not None and overall else "—"
        rows.append(
            (
                row.band.value.capitalize(),
                str(row.churn.n),
                rate_cell(row.churn),
                ci_cell(row.churn),
                lift,
            )
        )
    rows.append(
        ("All", str(report.overall.n), rate_cell(report.overall), ci_cell(report.overall), "1.0×")
    )
    return Table(
        ("Band", "Renewals", "Churned", "95 % CI", "Lift"),
        tuple(rows),
        title=f"Churn at the next renewal, by band {CHECKPOINT}",
    )


def _band_chart(report: ValidityReport) -> Chart | None:
    """Churn rate per band with renewals in it; None with fewer than two such bands."""
    shown = [row for row in report.bands if row.churn.share is not None]
    if len(shown) < 2:
        return None
    summary = "; ".join(f"{row.band.value} {rate_cell(row.churn)}" for row in shown)
    return Chart(
        title="Churn rate by health band",
        kind=ChartKind.BAR,
        categories=tuple(row.band.value.capitalize() for row in shown),
        series=(
            Series(
                "Churned at the next renewal",
                tuple(round(100 * (row.churn.share or 0.0), 1) for row in shown),
            ),
        ),
        summary=(
            f"Churn at the next renewal by health band {CHECKPOINT}: {summary}; "
            f"{percent(report.overall.share, 0)} overall."
        ),
        unit=" %",
        y_label="Churned (%)",
    )


_SIGNAL_WORDS = {
    Signal.CARRIES: "carries signal",
    Signal.NONE_SHOWN: "none shown",
    Signal.REVERSED: "reversed",
    Signal.TOO_FEW: "too few to say",
}


def _weight(value: float | None) -> str:
    return "—" if value is None else number(round(value))


def _component_table(report: ValidityReport) -> Table:
    rows = tuple(
        (
            component.name.capitalize(),
            _auc_cell(component.auc),
            _SIGNAL_WORDS[component.signal],
            str(component.n),
            _weight(component.weight),
            _weight(component.suggested),
        )
        for component in report.components
    )
    return Table(
        ("Component", "AUC alone (95 % CI)", "Signal", "Renewals", "Weight now", "Suggested"),
        rows,
        title="Which components carried signal",
    )


def _carried(components: tuple[ComponentSignal, ...], signal: Signal) -> str:
    return ", ".join(c.name for c in components if c.signal is signal)


def _suggestion_lines(report: ValidityReport) -> list[str]:
    """What the suggested weights are worth, and that nothing was changed."""
    if report.suggestion_missing is not None:
        return [f"No weights suggested: {report.suggestion_missing}."]
    segment = report.segment
    table = "[health.weights]" if segment is None else f"[health.segments.{segment.value}]"
    lines = [
        "The suggested weights (a logistic regression of churn on the components, weights "
        f"kept at zero or above, on the current total of {number(report.weights_total)}) "
        f"are a suggestion; nothing changed. To adopt them, edit `{table}` in "
        "`closeloop.toml`."
    ]
    check = report.out_of_time
    if check is None:
        lines.append(
            "Too few recent renewals to check the suggestion on renewals it was not fitted "
            "on: treat it with care."
        )
        return lines
    tried = (
        f"Refitted on renewals before {day(check.tested_from)} and tried on the "
        f"{check.renewals} since ({check.churned} churned), the suggested weights ranked "
        f"churners at AUC {check.suggested_auc:.2f} against {check.current_auc:.2f} for "
        "today's"
    )
    if check.suggested_auc > check.current_auc:
        lines.append(
            f"{tried}: worth a try, though on {check.churned} churns the gain may be chance."
        )
    else:
        lines.append(f"{tried}: no better, so keep today's weights.")
    return lines


def _borne(label: str, borne: Borne) -> str | None:
    if not borne.accounts:
        return None
    if not borne.decided:
        accounts = count(borne.accounts, "account")
        return f"of the {accounts} called {label}, none has renewed or churned since"
    return (
        f"of the {count(borne.accounts, 'account')} called {label}, {borne.churned} of the "
        f"{borne.decided} with a renewal since churned"
    )


def feedback_line(feedback: FeedbackSummary) -> str:
    if not feedback.submissions:
        return (
            "nobody flagged a score in the last 12 months (“This score looks wrong” is on "
            "every health answer)"
        )
    said = [f"{feedback.too_high} too high", f"{feedback.too_low} too low"]
    if feedback.unsaid:
        said.append(f"{feedback.unsaid} without a direction")
    text = (
        f"{count(feedback.submissions, 'time')} in the last 12 months ({', '.join(said)}) by "
        f"{count(feedback.people, 'person', 'people')} about "
        f"{count(feedback.accounts, 'account')}"
    )
    borne = [
        line
        for line in (
            _borne("too high", feedback.too_high_then),
            _borne("too low", feedback.too_low_then),
        )
        if line
    ]
    return f"{text}; {'; '.join(borne)}" if borne else text


def _scored_fact(report: ValidityReport) -> Fact:
    text = (
        f"{count(report.renewals, 'renewal')} decided since {day(report.since)} "
        f"({report.churned} churned), each scored {CHECKPOINT}"
    )
    if report.too_early:
        text += (
            f"; {count(report.too_early, 'other renewal')} could not be scored that far ahead "
            "(too early in the usage history)"
        )
    return Fact("Renewals", text)


def _method_note(report: ValidityReport) -> str:
    note = (
        "Each renewal is scored with today's scorecard on what was known at the latest "
        f"30-day checkpoint at least {LEAD_DAYS} days before it. Rates: Agresti–Coull 95 % "
        "intervals; AUC: DeLong's interval on the logit scale; lift = a band's churn rate ÷ "
        "the overall rate."
    )
    if report.own_segment_weights:
        names = ", ".join(segment.value for segment in report.own_segment_weights)
        note += (
            f" {names} {'has' if len(report.own_segment_weights) == 1 else 'have'} weights of "
            "their own, which score those accounts here; the weights shown are the default "
            "ones: ask per segment for theirs."
        )
    return note


def validity_reply(report: ValidityReport) -> Reply:
    heading = f"Health score validity — {scope_name(report.segment)}"
    feedback = Fact("“Looks wrong”", feedback_line(report.feedback))
    if not report.enough:
        return Reply(
            heading=heading,
            paragraphs=(
                "Not enough renewals yet to judge the score: "
                f"{count(report.renewals, 'renewal')} scored, {report.churned} churned and "
                f"{report.renewed} renewed. It takes {MIN_RENEWALS} renewals, with at least "
                f"{MIN_EACH_OUTCOME} churned and {MIN_EACH_OUTCOME} renewed.",
            ),
            facts=(_scored_fact(report), feedback),
            notes=(_method_note(report),),
        )
    metrics = [
        Metric(
            "ROC AUC",
            "—" if report.auc is None else f"{report.auc.auc:.2f}",
            tone=_auc_tone(report.auc),
            detail=None if report.auc is None else _auc_detail(report.auc),
        ),
        Metric(
            "Churn at the next renewal",
            percent(report.overall.share, 0),
            detail=f"{report.churned} of {report.renewals}, 95 % CI {ci_cell(report.overall)}",
        ),
        _lift_metric(report),
    ]
    paragraphs = [_verdict(report)]
    carried = _carried(report.components, Signal.CARRIES)
    silent = _carried(report.components, Signal.NONE_SHOWN)
    reversed_ = _carried(report.components, Signal.REVERSED)
    if carried:
        paragraphs.append(f"Carried signal on their own: {carried}.")
    if silent:
        paragraphs.append(f"Showed no signal on these renewals: {silent}.")
    if reversed_:
        paragraphs.append(f"Went the wrong way (higher scores, more churn): {reversed_}.")
    paragraphs.extend(_suggestion_lines(report))
    chart = _band_chart(report)
    return Reply(
        heading=heading,
        metrics=tuple(metrics),
        paragraphs=tuple(paragraphs),
        facts=(_scored_fact(report), feedback),
        tables=(_band_table(report), _component_table(report)),
        charts=() if chart is None else (chart,),
        notes=(_method_note(report),),
    )


# --- the "This score looks wrong" button ------------------------------------------------------

LOOKS_WRONG_FORM = Form(
    title="This score looks wrong",
    submit="Send",
    fields=(
        Field(
            "direction",
            "The score is",
            choices=(
                Choice(Direction.TOO_HIGH.value, "Too high: the account is worse off"),
                Choice(Direction.TOO_LOW.value, "Too low: the account is better off"),
            ),
        ),
        Field(
            "reason", "Why? What do you know that the data does not?", multiline=True, optional=True
        ),
    ),
)


def looks_wrong_action(external_id: str) -> Action:
    """The button on a health answer; it carries only the account, the score is read again."""
    return Action(
        SCORE_WRONG, "This score looks wrong", {"account": external_id}, form=LOOKS_WRONG_FORM
    )


def _user_ref(actor: Actor) -> str:
    return f"{actor.platform.value}:{actor.user_id or 'unknown'}"


async def score_feedback(request: ActionRequest, context: BotContext) -> Reply:
    """Store one submission of the form and thank the clicker (privately: `bot.clicks`)."""
    external_id = request.payload.get("account", "").strip()
    if not external_id:
        return Reply(
            heading="That button has lost its account; ask for the health answer again",
            outcome=Outcome.PROBLEM,
        )
    try:
        direction = Direction(request.payload.get("direction", "").strip())
    except ValueError:
        return Reply(
            heading="Pick whether the score is too high or too low", outcome=Outcome.PROBLEM
        )
    reason = request.payload.get("reason", "").strip()
    if len(reason) > MAX_REASON_CHARS:
        return Reply(
            heading="That reason is too long; nothing was saved",
            paragraphs=(f"It has {len(reason):,} characters; at most {MAX_REASON_CHARS:,}.",),
            outcome=Outcome.PROBLEM,
        )
    member = await team_member(request.actor, context)
    result = await context.db.write(
        functools.partial(
            record_feedback,
            external_id=external_id,
            member_id=None if member is None else member.id,
            user_ref=_user_ref(request.actor),
            direction=direction,
            reason=reason or None,
            as_of=context.today(),
            now=context.now(),
            cache=context.health,
        )
    )
    if result.stored is Stored.NO_ACCOUNT:
        return Reply(
            heading="That account no longer exists; nothing was saved", outcome=Outcome.PROBLEM
        )
    if result.stored is Stored.NOT_A_CUSTOMER:
        return Reply(
            heading=f"{result.account} is not a customer today; nothing was saved",
            paragraphs=("A churned account has no current health score to dispute.",),
            outcome=Outcome.PROBLEM,
        )
    way = "too high" if direction is Direction.TOO_HIGH else "too low"
    return Reply(
        heading=f"Thanks — noted that {result.account}'s health looks {way} to you",
        paragraphs=(
            f"Its score was {number(result.score or 0.0)} ({result.band}). `health validity` "
            "counts this beside how the score has foretold churn; the score itself does not "
            "change.",
        ),
    )
