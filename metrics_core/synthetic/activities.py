"""CSM touchpoints and what the CS organisation costs.

Touches scale with segment (high touch for Enterprise, mostly email for SMB) and with
the attention an account gets: neglected accounts go quiet, and the CSMs who notice a
decline step up their calls. Both are what "last touch" and activity counts per CSM
are meant to surface.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from metrics_core.synthetic import draws
from metrics_core.synthetic.accounts import LAPSED_YEARS, AccountPlan
from metrics_core.synthetic.team import SEGMENTS
from metrics_core.synthetic.text import Picker, activity_note
from metrics_core.synthetic.tickets import pain_category
from metrics_core.synthetic.window import DAY_SECONDS, IntArray, add_years, as_float, as_int

KINDS = ("call", "email", "training", "qbr")
# Touches per account per week at normal attention, by segment.
CALL_RATE = np.array([0.5, 0.2, 0.03])
EMAIL_RATE = np.array([1.2, 0.6, 0.12])
TRAINING_RATE = np.array([0.015, 0.008, 0.002])
NOTE_RATE = {"call": 0.8, "email": 0.5, "training": 0.9, "qbr": 1.0}
QBR_EVERY = (91, 182)  # Enterprise quarterly, Mid-market twice a year
MID_MARKET_QBR_SHARE = 0.6
ONBOARDING_DAYS = 60
RISKY_HEALTH = 0.8

# CS cost per year as a share of the ARR each segment's CSMs manage.
CS_COST_RATE = np.array([0.055, 0.07, 0.09])


def _qbrs(plan: AccountPlan, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    window = plan.window
    rows: list[IntArray] = []
    days: list[IntArray] = []
    mid_market_qbr = rng.random(plan.count) < MID_MARKET_QBR_SHARE
    for segment, every in enumerate(QBR_EVERY):
        phase = rng.uniform(0, every, plan.count)
        day = np.floor(phase[:, None] + every * np.arange(window.days // every + 2))
        column = np.arange(plan.count)[:, None]
        eligible = (plan.segment == segment) & (mid_market_qbr | (segment == 0))
        # Neglected accounts miss their business reviews.
        held = rng.random(day.shape) < np.clip(0.5 + 0.5 * plan.curve.attention, 0, 0.95)[:, None]
        happens = (
            eligible[:, None]
            & held
            & (day < window.last_index)
            & plan.is_customer(column, day)
            & (day - plan.first_start[column] >= ONBOARDING_DAYS)
        )
        account, index = np.nonzero(happens)
        rows.append(as_int(account))
        days.append(as_int(day[account, index]))
    return as_int(np.concatenate(rows)), as_int(np.concatenate(days))


def _onboarding_trainings(plan: AccountPlan, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Two trainings in the first weeks of every account that starts inside the window."""
    new = np.flatnonzero(plan.first_start >= 0)
    first = plan.first_start[new] + rng.integers(3, 21, len(new))
    second = plan.first_start[new] + rng.integers(21, 61, len(new))
    return as_int(np.concatenate([new, new])), as_int(np.concatenate([first, second]))


def plan_activities(
    plan: AccountPlan, rng: np.random.Generator, picker: Picker, id_base: int
) -> pd.DataFrame:
    """Calls, emails, trainings and business reviews by each account's owner, in time order."""
    window = plan.window
    mid = draws.week_midpoints(plan)
    column = np.arange(plan.count)[:, None]
    customer = plan.is_customer(column, mid)
    attention = plan.curve.attention[:, None]
    onboarding = (mid - plan.first_start[column]) < ONBOARDING_DAYS
    trouble = 1.0 - plan.health(column, mid)
    call_rate = (
        CALL_RATE[plan.segment][:, None]
        * attention
        * (1.0 + 3.0 * plan.curve.escalates[:, None] * trouble)
        * np.where(onboarding, 1.5, 1.0)
        * customer
    )
    email_rate = (
        EMAIL_RATE[plan.segment][:, None] * attention * np.where(onboarding, 1.3, 1.0) * customer
    )
    training_rate = TRAINING_RATE[plan.segment][:, None] * customer

    parts = [
        draws.weekly_events(as_float(call_rate), rng),
        draws.weekly_events(as_float(email_rate), rng),
        draws.weekly_events(as_float(training_rate), rng),
        _onboarding_trainings(plan, rng),
        _qbrs(plan, rng),
    ]
    part_kinds = (0, 1, 2, 2, 3)
    rows = as_int(np.concatenate([p[0] for p in parts]))
    day = as_int(np.concatenate([p[1] for p in parts]))
    kind = as_int(
        np.concatenate([np.full(len(p[0]), k) for p, k in zip(parts, part_kinds, strict=True)])
    )
    seconds = draws.working_seconds(plan, day, rng, weekend_kept=0.0)
    keep = draws.observed(plan, rows, seconds)
    rows, seconds, kind = rows[keep], seconds[keep], kind[keep]
    order = np.lexsort((kind, rows, seconds))
    rows, seconds, kind = rows[order], seconds[order], kind[order]

    health = plan.health(rows, np.floor(seconds / DAY_SECONDS))
    categories = pain_category(plan, rows)
    contact_offset = np.floor(rng.random(len(rows)) * plan.contacts.count[rows]).astype(np.int64)
    contact = (plan.contacts.first_id[rows] + contact_offset - plan.contacts.first_id[0]).tolist()
    notes: list[str | None] = []
    for k, h, category, person in zip(
        kind.tolist(), health.tolist(), categories, contact, strict=True
    ):
        name = KINDS[k]
        if not picker.chance(NOTE_RATE[name]):
            notes.append(None)
            continue
        template = "call_risk" if name == "call" and h < RISKY_HEALTH else name
        context = {"contact": plan.contacts.names[person].split(" ")[0], "category": category}
        notes.append(activity_note(template, picker, context))
    ids = np.arange(1, len(rows) + 1, dtype=np.int64) + id_base
    return pd.DataFrame(
        {
            "id": ids,
            "external_id": [f"ACT-{i:07d}" for i in ids.tolist()],
            "account_id": plan.ids[rows],
            "team_member_id": plan.owner_id[rows],
            "kind": [KINDS[k] for k in kind.tolist()],
            "occurred_at": window.stamps(seconds),
            "note": notes,
        }
    )


def plan_cs_costs(plan: AccountPlan, rng: np.random.Generator, id_base: int) -> pd.DataFrame:
    """One row per calendar month and segment, pro-rated where the history cuts a month.

    Cost follows the ARR the segment's CSMs manage that month, at a rate per segment
    that puts the whole team near the ~6 % cost-to-retain median of the design. The cost
    history reaches as far back as the contracts of the customers lost before the window,
    so cost to retain can be asked of earlier years too.
    """
    window = plan.window
    history_start = add_years(window.first, -LAPSED_YEARS)
    starts: list[int] = []
    ends: list[int] = []
    arrs: list[float] = []
    segments: list[int] = []
    for row, terms in enumerate(plan.terms):
        for term in terms:
            starts.append(window.index(term.start))
            ends.append(window.index(term.end))
            arrs.append(term.arr)
            segments.append(int(plan.segment[row]))
    term_start, term_end = np.array(starts), np.array(ends)
    term_arr, term_segment = np.array(arrs), np.array(segments, dtype=np.int64)

    period_start: list[dt.date] = []
    period_end: list[dt.date] = []
    segment_names: list[str] = []
    amounts: list[float] = []
    month = history_start.replace(day=1)
    while month <= window.as_of:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        first = max(month, history_start)
        last = min(following - dt.timedelta(days=1), window.as_of)
        middle = (window.index(first) + window.index(last)) / 2
        live = (term_start <= middle) & (middle < term_end)
        managed = np.bincount(term_segment[live], weights=term_arr[live], minlength=3)
        covered = (last - first).days + 1
        noise = rng.lognormal(0.0, 0.04, 3)
        for segment in range(3):
            period_start.append(first)
            period_end.append(last)
            segment_names.append(SEGMENTS[segment])
            cost = managed[segment] * CS_COST_RATE[segment] * covered / 365.0 * noise[segment]
            amounts.append(round(float(cost), 2))
        month = following
    return pd.DataFrame(
        {
            "id": np.arange(1, len(amounts) + 1, dtype=np.int64) + id_base,
            "period_start": np.array(period_start, dtype="datetime64[D]"),
            "period_end": np.array(period_end, dtype="datetime64[D]"),
            "segment": segment_names,
            "amount": amounts,
        }
    )
