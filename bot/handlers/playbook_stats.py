"""`playbooks stats [playbook] [segment]`: did the playbooks work?

For each playbook, what happened next to the accounts it ran on, in the runs their owners
finished against the runs whose trigger fired but were not finished: usage recovered and
still recovered 90 days later (the headline: a quick spike that fades is not a success),
health change at 30 and 90 days, renewal and expansion. Asked about one playbook, the
answer adds each play: runs where it was done against runs where it was not.

A CS leader decides from this which plays to keep, so every rate carries its count, every
difference its 95 % interval, "not enough data yet" is said with the numbers that fall
short, and the answer says plainly that owners choose which runs to finish: finished and
unfinished runs are comparable, not randomised, so a difference is an association. The
definitions are `metrics_core.playbooks.effectiveness`'s.
"""

from __future__ import annotations

import datetime as dt
import functools

from bot.args import parse_segment
from bot.context import BotContext
from bot.formatting import count, echoed, interval, percent, rate_difference, signed
from bot.inbound import CommandRequest
from bot.reply import Chart, ChartKind, Fact, Metric, Outcome, Reply, Series, Table, Tone
from metrics_core.playbooks.effectiveness import (
    EXPANSION_DAYS,
    HEALTH_TOLERANCE_DAYS,
    RECOVERY_DAYS,
    SUSTAINED_DAYS,
    MeanComparison,
    PlaybookEffect,
    PlaybookStats,
    PlayEffect,
    RateComparison,
    playbook_effectiveness,
)
from metrics_core.proportions import Rate
from metrics_core.store.models import Segment

STATS = "stats"
USAGE = "playbooks stats [playbook] [segment]"
NAME_CHARS = 40
"""Playbook names and play titles longer than this are cut in tables and charts."""
CAUTION = (
    "Comparable, not randomised: owners choose which runs to finish, so a difference is an "
    "association, not proof that the plays caused it."
)


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"


def _cut(text: str, limit: int = NAME_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def playbook_stats_command(request: CommandRequest, context: BotContext) -> Reply:
    """`playbooks stats [playbook] [segment]`, with or without the leading `stats`."""
    words = request.args.split()
    if words and words[0].lower() == STATS:
        words = words[1:]
    segment: Segment | None = None
    key: str | None = None
    for word in words:
        found = parse_segment(word)
        if found is not None and segment is None:
            segment = found
        elif found is None and key is None:
            key = word.lower()
        else:
            return Reply(
                heading=f"I don't understand “{echoed(' '.join(words))}”",
                paragraphs=(
                    f"Usage: `{USAGE}`: a playbook key (e.g. `usage-drop`) and a segment "
                    "(Enterprise, Mid-market or SMB), each optional.",
                ),
                outcome=Outcome.PROBLEM,
            )
    stats = await context.db.read(
        functools.partial(
            playbook_effectiveness,
            as_of=context.today(),
            config=context.config,
            playbook=key,
            segment=segment,
        )
    )
    return playbook_stats_reply(stats)


# --- cells --------------------------------------------------------------------------------


def _rate(rate: Rate) -> str:
    """`56 % (85 of 151)`: a rate is never shown without what it is a share of."""
    if rate.share is None:
        return "no runs yet"
    return f"{percent(rate.share, 0)} ({rate.events} of {rate.n})"


def _points(value: float) -> str:
    return signed(value, 0, " pts")


def _short(groups: tuple[tuple[str, int], ...], need: int) -> str:
    """`not enough data yet (n = 3 finished runs; need 10)`, naming the groups short of it."""
    short = [(name, n) for name, n in groups if n < need]
    if len(short) == 1:
        name, n = short[0]
        return f"not enough data yet (n = {n} {name} run{'' if n == 1 else 's'}; need {need})"
    counts = ", ".join(f"{n} {name}" for name, n in short)
    return f"not enough data yet (n = {counts}; need {need} runs each)"


def _rate_difference(
    comparison: RateComparison, need: int, names: tuple[str, str] = ("finished", "unfinished")
) -> str:
    change = comparison.difference
    if change is None:
        return _short(((names[0], comparison.done.n), (names[1], comparison.not_done.n)), need)
    return rate_difference(change)


def _mean(n: int, mean: float | None) -> str:
    if mean is None:
        return "no snapshots yet"
    return f"{signed(mean, 1)} pts (n = {n})"


def _mean_difference(comparison: MeanComparison, need: int) -> str:
    if comparison.done.n == 0 and comparison.not_done.n == 0:
        return "no snapshots yet"
    if comparison.difference is None or comparison.low is None or comparison.high is None:
        groups = (("finished", comparison.done.n), ("unfinished", comparison.not_done.n))
        return _short(groups, need)
    bounds = interval(comparison.low, comparison.high, lambda v: signed(v, 1), label="")
    return f"{signed(comparison.difference, 1)} pts (95 % CI {bounds})"


def _versus(comparison: RateComparison) -> str:
    return f"{_rate(comparison.done)} vs {_rate(comparison.not_done)}"


# --- the answer ---------------------------------------------------------------------------


def _scope(stats: PlaybookStats) -> str:
    return stats.segment.value if stats.segment is not None else "all customers"


def _definitions(stats: PlaybookStats) -> tuple[str, ...]:
    share = percent(stats.recovered_share, 0)
    return (
        f"Recovered: active users over a week back to at least {share} of the account's "
        f"usual level before the drop (the weeks before the trigger's week), "
        f"{RECOVERY_DAYS} days after the trigger. Sustained: recovered at {RECOVERY_DAYS} "
        f"days and still at {SUSTAINED_DAYS}; a spike that fades does not count, and an "
        "account that churned has not recovered.",
        f"Each outcome counts only runs old enough for it (usage data through "
        f"{_day(stats.usage_through)}); renewed is the first renewal after the trigger, once "
        f"decided; expanded is an expansion within {stats.expansion_days} days.",
        CAUTION,
    )


def _health_note(effects: tuple[PlaybookEffect, ...]) -> str:
    measured = any(
        e.outcomes.health_30.done.n + e.outcomes.health_30.not_done.n > 0 for e in effects
    )
    if measured:
        return (
            f"Health change: the daily snapshot nearest each horizon (within "
            f"{HEALTH_TOLERANCE_DAYS} days) against the score when the run started."
        )
    return (
        "Health change: no run has a health snapshot 30 days after it yet. Snapshots are "
        "stored daily by the service; `closeloop snapshot --backfill DAYS` fills past days."
    )


def playbook_stats_reply(stats: PlaybookStats) -> Reply:
    """The answer to `playbooks stats`, for every playbook or the one asked about."""
    if stats.playbook is not None:
        if not stats.playbooks:
            return _unknown(stats)
        return _one_reply(stats, stats.playbooks[0])
    if not stats.playbooks:
        return Reply(
            heading="No playbooks yet",
            paragraphs=(
                "No playbook is configured (`[[playbooks]]` in closeloop.toml) and no run was "
                "ever recorded, so there is nothing to measure.",
            ),
        )
    return _all_reply(stats)


def _unknown(stats: PlaybookStats) -> Reply:
    known = ", ".join(f"`{key}` ({name})" for key, name in stats.known) or "none yet"
    scope = f" in {stats.segment.value}" if stats.segment is not None else ""
    return Reply(
        heading=f"No runs of a playbook “{echoed(stats.playbook or '')}”{scope}",
        paragraphs=(f"Playbooks: {known}.", f"Usage: `{USAGE}`."),
        outcome=Outcome.PROBLEM,
    )


def _all_reply(stats: PlaybookStats) -> Reply:
    effects = stats.playbooks
    need = stats.min_runs
    rows = []
    for effect in effects:
        outcomes = effect.outcomes
        if effect.runs == 0:
            rows.append((_cut(effect.name), "0", "no runs yet", "—", "—", "—", "—"))
            continue
        finished = effect.finished_share
        rows.append(
            (
                _cut(effect.name),
                f"{effect.runs:,}",
                "—"
                if finished is None
                else f"{percent(finished, 0)} of {effect.finished + effect.not_finished:,}",
                _versus(outcomes.sustained),
                _rate_difference(outcomes.sustained, need),
                _mean_cell(outcomes.health_90),
                _versus(outcomes.renewed),
            )
        )
    table = Table(
        (
            "Playbook",
            "Runs",
            "Finished",
            "Sustained recovery: finished vs not",
            "Difference",
            f"Health Δ {SUSTAINED_DAYS} d: finished vs not",
            "Renewed: finished vs not",
        ),
        tuple(rows),
        title=f"By playbook — {_scope(stats)}, as of {_day(stats.as_of)}",
    )
    total = sum(e.runs for e in effects)
    finished = sum(e.finished for e in effects)
    over = sum(e.finished + e.not_finished for e in effects)
    metrics = (
        Metric("Runs", f"{total:,}", detail=f"{sum(e.in_progress for e in effects):,} in progress"),
        Metric(
            "Finished",
            percent(finished / over, 0) if over else "—",
            detail=f"{finished:,} of the {over:,} runs that are over",
        ),
    )
    chart = _playbooks_chart(effects)
    notes = (
        *_definitions(stats),
        _health_note(effects),
        "`playbooks stats <playbook>` compares each play of one playbook.",
    )
    return Reply(
        heading=f"Did the playbooks work? — {_scope(stats)}",
        paragraphs=(
            "Runs their owners finished (every play done or skipped) against runs whose "
            "trigger fired but were not finished (dropped, or open past their last due "
            "date). Runs still within their due dates are in neither.",
        ),
        metrics=metrics,
        tables=(table,),
        charts=(chart,) if chart is not None else (),
        notes=notes,
    )


def _mean_cell(comparison: MeanComparison) -> str:
    done, not_done = comparison.done, comparison.not_done
    if done.n == 0 and not_done.n == 0:
        return "no snapshots yet"
    return f"{_mean(done.n, done.mean)} vs {_mean(not_done.n, not_done.mean)}"


def _playbooks_chart(effects: tuple[PlaybookEffect, ...]) -> Chart | None:
    """Sustained recovery, finished against unfinished, for playbooks with both groups."""
    shown = [
        e
        for e in effects
        if e.outcomes.sustained.done.n > 0 and e.outcomes.sustained.not_done.n > 0
    ]
    if not shown:
        return None
    parts = [
        f"{e.name}: finished {_rate(e.outcomes.sustained.done)}, not finished "
        f"{_rate(e.outcomes.sustained.not_done)}"
        for e in shown
    ]
    return Chart(
        title="Sustained recovery, finished vs not",
        kind=ChartKind.BAR,
        categories=tuple(_cut(e.name, 24) for e in shown),
        series=(
            Series("Finished", tuple(_share(e.outcomes.sustained.done) for e in shown)),
            Series("Not finished", tuple(_share(e.outcomes.sustained.not_done) for e in shown)),
        ),
        summary=f"Share of runs whose usage recovered and held at {SUSTAINED_DAYS} days: "
        + "; ".join(parts)
        + ".",
        unit="%",
        y_label="Runs with sustained recovery (%)",
    )


def _share(rate: Rate) -> float:
    return round(100 * (rate.share or 0.0), 1)


def _one_reply(stats: PlaybookStats, effect: PlaybookEffect) -> Reply:
    heading = f"{effect.name}: what happened next — {_scope(stats)}"
    if effect.runs == 0:
        return Reply(
            heading=heading,
            paragraphs=(f"No run of `{effect.key}` yet, so there is nothing to measure.",),
        )
    need = stats.min_runs
    outcomes = effect.outcomes
    rows = (
        (
            f"Usage recovered at {RECOVERY_DAYS} days",
            _rate(outcomes.recovered.done),
            _rate(outcomes.recovered.not_done),
            _rate_difference(outcomes.recovered, need),
        ),
        (
            f"Sustained: still recovered at {SUSTAINED_DAYS} days",
            _rate(outcomes.sustained.done),
            _rate(outcomes.sustained.not_done),
            _rate_difference(outcomes.sustained, need),
        ),
        (
            f"Health change at {RECOVERY_DAYS} days",
            _mean(outcomes.health_30.done.n, outcomes.health_30.done.mean),
            _mean(outcomes.health_30.not_done.n, outcomes.health_30.not_done.mean),
            _mean_difference(outcomes.health_30, need),
        ),
        (
            f"Health change at {SUSTAINED_DAYS} days",
            _mean(outcomes.health_90.done.n, outcomes.health_90.done.mean),
            _mean(outcomes.health_90.not_done.n, outcomes.health_90.not_done.mean),
            _mean_difference(outcomes.health_90, need),
        ),
        (
            "Renewed at the next renewal",
            _rate(outcomes.renewed.done),
            _rate(outcomes.renewed.not_done),
            _rate_difference(outcomes.renewed, need),
        ),
        (
            f"Expanded within {EXPANSION_DAYS} days",
            _rate(outcomes.expanded.done),
            _rate(outcomes.expanded.not_done),
            _rate_difference(outcomes.expanded, need),
        ),
    )
    tables = [
        Table(
            ("Outcome", "Finished runs", "Not finished", "Difference"),
            rows,
            title=f"Outcomes, as of {_day(stats.as_of)}",
        )
    ]
    if effect.plays:
        tables.append(_plays_table(effect.plays, need))
    sustained = outcomes.sustained
    change = sustained.difference
    tone = Tone.NEUTRAL
    if change is not None and change.clear:
        tone = Tone.GOOD if change.estimate > 0 else Tone.BAD
    metrics = (
        Metric(
            "Sustained recovery, finished vs not",
            "not enough data yet" if change is None else _points(change.estimate * 100),
            tone=tone,
            detail=_versus(sustained),
        ),
    )
    over = effect.finished + effect.not_finished
    facts = (
        Fact(
            "Runs",
            f"{count(effect.runs, 'run')}: {effect.finished:,} finished, {effect.dropped:,} "
            f"dropped, {effect.stalled:,} open past their due dates, "
            f"{effect.in_progress:,} in progress",
        ),
        Fact(
            "Finished",
            "—"
            if effect.finished_share is None
            else f"{percent(effect.finished_share, 0)} of the {over:,} runs that are over",
        ),
    )
    chart = _plays_chart(effect.plays)
    notes = [*_definitions(stats), _health_note((effect,))]
    if effect.plays:
        notes.append(
            "By play: runs that are over where the play was done, against those where it was "
            "skipped or never done; unfinished runs stop early, so a play's difference also "
            "carries the finishing."
        )
    return Reply(
        heading=heading,
        metrics=metrics,
        facts=facts,
        tables=tuple(tables),
        charts=(chart,) if chart is not None else (),
        notes=tuple(notes),
    )


def _play_name(play: PlayEffect) -> str:
    return f"{play.position}. {_cut(play.title)}"


def _plays_table(plays: tuple[PlayEffect, ...], need: int) -> Table:
    names = ("done", "not done")
    rows = tuple(
        (
            _play_name(play),
            f"{play.done:,} / {play.not_done:,}",
            _versus(play.outcomes.recovered),
            _versus(play.outcomes.sustained),
            _rate_difference(play.outcomes.sustained, need, names),
        )
        for play in plays
    )
    return Table(
        (
            "Play",
            "Runs done / not",
            f"Recovered at {RECOVERY_DAYS} d: done vs not",
            f"Sustained at {SUSTAINED_DAYS} d: done vs not",
            "Sustained difference",
        ),
        rows,
        title="By play",
    )


def _plays_chart(plays: tuple[PlayEffect, ...]) -> Chart | None:
    """Sustained recovery with each play done against not done."""
    shown = [
        p for p in plays if p.outcomes.sustained.done.n > 0 and p.outcomes.sustained.not_done.n > 0
    ]
    if len(shown) < 2:
        return None
    parts = [
        f"play {p.position} ({p.title}): done {_rate(p.outcomes.sustained.done)}, "
        f"not done {_rate(p.outcomes.sustained.not_done)}"
        for p in shown
    ]
    return Chart(
        title="Sustained recovery by play",
        kind=ChartKind.BAR,
        categories=tuple(f"Play {p.position}" for p in shown),
        series=(
            Series("Done", tuple(_share(p.outcomes.sustained.done) for p in shown)),
            Series("Not done", tuple(_share(p.outcomes.sustained.not_done) for p in shown)),
        ),
        summary=f"Share of runs whose usage recovered and held at {SUSTAINED_DAYS} days: "
        + "; ".join(parts)
        + ".",
        unit="%",
        y_label="Runs with sustained recovery (%)",
    )
