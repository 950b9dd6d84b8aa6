"""Support tickets: more of them, and more urgent, as an account's health falls.

A ticket's priority, category and time to resolution all read the account's health on
the day it was opened, so a declining account's queue fills with urgent performance and
bug tickets that take longer to close, while a new account asks how-to questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics_core.synthetic import draws
from metrics_core.synthetic.accounts import AccountPlan
from metrics_core.synthetic.text import Picker, ticket_subject
from metrics_core.synthetic.window import (
    DAY_SECONDS,
    BoolArray,
    FloatArray,
    IntArray,
    as_bool,
    as_float,
    as_int,
)

# Tickets per account per week at full health, by segment.
TICKET_RATE = np.array([0.7, 0.3, 0.08])
CATEGORIES = ("billing", "bug", "how-to", "integration", "performance", "access")
BASE_CATEGORY = np.array([0.10, 0.20, 0.28, 0.14, 0.14, 0.14])
PAIN_CATEGORY = np.array([0.0, 0.25, 0.0, 0.15, 0.25, 0.0])
ONBOARDING_CATEGORY = np.array([0.0, 0.0, 0.2, 0.0, 0.0, 0.1])
# The ticket category each account pain topic shows up as (indexed like TOPICS).
TOPIC_CATEGORY = np.array([4, 1, 3, 2, 2, 0, 2, 1])
PRIORITIES = ("low", "normal", "high", "urgent")
RESOLUTION_HOURS = np.array([70.0, 40.0, 18.0, 6.0])
SEGMENT_RESOLUTION = np.array([0.8, 1.0, 1.2])  # Enterprise support is faster
# How each category leans across (low, normal, high, urgent): nobody files an urgent
# how-to question, performance and access problems stop people working.
CATEGORY_PRIORITY = np.array(
    [
        [1.4, 1.1, 0.5, 0.2],
        [0.8, 1.0, 1.3, 1.3],
        [1.6, 1.1, 0.4, 0.1],
        [0.8, 1.0, 1.3, 1.2],
        [0.6, 0.9, 1.6, 1.6],
        [0.7, 1.0, 1.2, 1.5],
    ]
)
ONBOARDING_DAYS = 60

ACME_TICKET_SUBJECT = "Dashboards time out when filtering by region"
ACME_TICKET_DAYS_AGO = 3


@dataclass(frozen=True)
class Tickets:
    frame: pd.DataFrame
    rows: IntArray  # plan row of each ticket, in id order
    closed_seconds: FloatArray  # NaN while open
    category: IntArray
    slow: BoolArray  # took more than twice the usual time for its priority


def plan_tickets(
    plan: AccountPlan, rng: np.random.Generator, picker: Picker, id_base: int
) -> Tickets:
    """Tickets in id order of opening, as a help desk numbers them.

    The arrays beside the frame let CSAT and CES follow the tickets they rate.
    """
    window = plan.window
    mid = draws.week_midpoints(plan)
    column = np.arange(plan.count)[:, None]
    onboarding = (mid - plan.first_start[column]) < ONBOARDING_DAYS
    rate = (
        TICKET_RATE[plan.segment][:, None]
        * (1.0 + 2.5 * (1.0 - plan.health(column, mid)))
        * np.where(onboarding, 1.8, 1.0)
        * plan.is_customer(column, mid)
    )
    rows, day = draws.weekly_events(as_float(rate), rng)
    seconds = draws.working_seconds(plan, day, rng, weekend_kept=0.25)
    keep = draws.observed(plan, rows, seconds)
    rows, seconds = rows[keep], seconds[keep]

    # Acme's open high-priority ticket from a few days ago.
    acme_day = window.last_index - ACME_TICKET_DAYS_AGO
    rows = as_int(np.append(rows, 0))
    seconds = as_float(np.append(seconds, acme_day * DAY_SECONDS + 14 * 3600 + 20 * 60))
    acme = as_bool(np.arange(len(rows)) == len(rows) - 1)
    order = np.lexsort((rows, seconds))
    rows, seconds, acme = rows[order], seconds[order], acme[order]

    n = len(rows)
    ticket_day = np.floor(seconds / DAY_SECONDS)
    pain = 1.0 - plan.health(rows, ticket_day)
    new = (ticket_day - plan.first_start[rows]) < ONBOARDING_DAYS
    topic = np.eye(len(CATEGORIES))[TOPIC_CATEGORY[plan.pain_topic[rows]]]
    category_weights = (
        BASE_CATEGORY
        + pain[:, None] * PAIN_CATEGORY
        + new[:, None] * ONBOARDING_CATEGORY
        + 0.15 * topic
    )
    category = draws.categorical(as_float(category_weights), rng)
    priority_weights = np.stack(
        [0.32 - 0.2 * pain, 0.48 - 0.15 * pain, 0.15 + 0.2 * pain, 0.05 + 0.15 * pain], axis=1
    )
    priority_weights = np.clip(priority_weights, 0.01, None) * CATEGORY_PRIORITY[category]
    priority = draws.categorical(as_float(priority_weights), rng)
    priority[acme] = PRIORITIES.index("high")
    category[acme] = CATEGORIES.index("performance")

    usual = RESOLUTION_HOURS[priority] * SEGMENT_RESOLUTION[plan.segment[rows]]
    hours = usual * (1.0 + pain) * rng.lognormal(0.0, 0.9, n)
    closed = seconds + np.ceil(hours * 3600.0)
    is_open = (closed >= window.cutoff_seconds) | acme
    closed_seconds = as_float(np.where(is_open, np.nan, closed))
    waiting = rng.random(n) < 0.35
    finished = rng.random(n) < 0.85
    status = np.where(
        is_open, np.where(waiting, "pending", "open"), np.where(finished, "closed", "solved")
    )
    status[acme] = "open"

    months = draws.month_names(plan, seconds)
    subjects = [
        ACME_TICKET_SUBJECT if is_acme else ticket_subject(CATEGORIES[c], picker, month)
        for c, month, is_acme in zip(category.tolist(), months, acme.tolist(), strict=True)
    ]
    ids = np.arange(1, n + 1, dtype=np.int64) + id_base
    frame = pd.DataFrame(
        {
            "id": ids,
            "external_id": [f"TCK-{i:06d}" for i in ids.tolist()],
            "account_id": plan.ids[rows],
            "subject": subjects,
            "priority": [PRIORITIES[p] for p in priority.tolist()],
            "status": status.tolist(),
            "category": [CATEGORIES[c] for c in category.tolist()],
            "opened_at": window.stamps(seconds),
            "closed_at": window.stamps(closed_seconds),
        }
    )
    return Tickets(
        frame=frame,
        rows=rows,
        closed_seconds=closed_seconds,
        category=category,
        slow=as_bool(hours > 2.0 * usual),
    )


def pain_category(plan: AccountPlan, rows: IntArray) -> list[str]:
    """The ticket category an account's main pain shows up as, for notes and comments."""
    return [CATEGORIES[c] for c in TOPIC_CATEGORY[plan.pain_topic[rows]].tolist()]
