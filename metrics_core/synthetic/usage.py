"""Daily product usage, generated for a block of accounts at a time.

Usage is by far the largest table (accounts × days), so it is drawn as numpy matrices
for a block of accounts and handed to the writer block by block: memory stays flat
however many accounts are seeded. Active users are binomial draws from the seats the
account has paid for on that day, so they never exceed seats and stay whole numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics_core.synthetic.accounts import FEATURES, AccountPlan
from metrics_core.synthetic.window import FloatArray, IntArray, as_float, as_int

# Typical share of a weekday's users on each day, Monday first.
WEEKDAY_FACTOR = np.array([1.0, 1.03, 1.02, 0.97, 0.85, 0.16, 0.11])
HOLIDAY_FACTOR = 0.45
# Uses of each feature per active user per day, before the account's own intensity.
FEATURE_RATE = np.array([2.5, 1.2, 0.6, 0.4, 6.0, 0.3, 0.5, 0.9])


def _calendar_factor(plan: AccountPlan) -> FloatArray:
    """Weekly rhythm, and the quiet week between Christmas and New Year."""
    window = plan.window
    factor = WEEKDAY_FACTOR[window.weekday(np.arange(window.days))]
    month, day = window.month_day()
    holiday = ((month == 12) & (day >= 24)) | ((month == 1) & (day == 1))
    return as_float(np.where(holiday, factor * HOLIDAY_FACTOR, factor))


def usage_block(plan: AccountPlan, rows: IntArray, rng: np.random.Generator) -> pd.DataFrame:
    """`usage_daily` rows for the accounts at plan positions `rows`, ordered by account, day."""
    window = plan.window
    days = np.arange(window.days, dtype=np.float64)
    column = rows[:, None]
    shape = (len(rows), window.days)

    customer = plan.is_customer(column, days)
    seats = np.maximum(1, np.rint(plan.seats[column] * plan.seat_scale(column, days)))
    level = plan.usage_level(column, days)
    noise = rng.lognormal(0.0, 0.12, shape)
    share = plan.curve.adoption[column] * level * _calendar_factor(plan) * noise
    active = rng.binomial(seats.astype(np.int64), np.clip(share, 0.0, 0.97))
    per_user = plan.curve.sessions_per_user[column] * rng.lognormal(0.0, 0.1, shape)
    sessions = rng.poisson(active * per_user)
    events = rng.poisson(sessions * plan.curve.events_per_session[column])

    # A feature stays in use while the account's health is above that feature's floor,
    # so declining accounts narrow their usage before they leave.
    health = plan.health(column, days)
    in_use = plan.features[rows][:, None, :] & (
        health[..., None] >= plan.feature_floor[rows][:, None, :]
    )
    rate = FEATURE_RATE * plan.feature_intensity[rows][:, None, :]
    counts = rng.poisson(active[..., None] * rate * in_use)

    account, day = np.nonzero(customer)
    feature_rows = counts[account, day].tolist()
    feature_counts = [
        {name: count for name, count in zip(FEATURES, row, strict=True) if count}
        for row in feature_rows
    ]
    return pd.DataFrame(
        {
            "account_id": plan.ids[rows][account],
            "day": window.dates(day),
            "active_users": as_int(active[account, day]),
            "sessions": as_int(sessions[account, day]),
            "events": as_int(events[account, day]),
            "feature_counts": feature_counts,
        }
    )
