"""Survey responses: relationship NPS in quarterly waves, CSAT and CES after tickets.

Scores are drawn around the account's mood when the customer answered, so NPS falls
while an account declines and detractors cluster in the accounts that later churn:
the pattern the churn model and the closed-loop follow-ups are built to catch.

Two answers are scripted, so every data set has them whatever its size: Acme's
detractor five days ago (the story the docs tell) and a detractor from the unhappiest
other customer on the evening before the as-of day, the answer that still waits for
its claim when the demo opens (see `synthetic.followups`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics_core.synthetic import draws
from metrics_core.synthetic.accounts import AccountPlan
from metrics_core.synthetic.text import TOPICS, Picker, nps_comment, support_comment
from metrics_core.synthetic.tickets import CATEGORIES, Tickets
from metrics_core.synthetic.window import (
    DAY_SECONDS,
    FloatArray,
    IntArray,
    as_float,
    as_int,
)

PROVIDER = "seed"
WAVE_DAYS = 91
RESPONSE_RATE = 0.3
FIRST_SURVEY_AFTER_DAYS = 30
CSAT_SHARE = 0.3
CES_SHARE = 0.12
# How often each kind of respondent bothers to write a comment.
COMMENT_RATE = {"detractor": 0.65, "passive": 0.4, "promoter": 0.5, "csat": 0.35, "ces": 0.25}
CATEGORY_WORDS = {
    "billing": "billing",
    "bug": "bug",
    "how-to": "setup",
    "integration": "integration",
    "performance": "performance",
    "access": "login",
}

ACME_NPS_SCORE = 4
ACME_NPS_DAYS_AGO = 5
ACME_NPS_COMMENT = (
    "Reporting has been painfully slow since the last release, and our regional managers "
    "have gone back to spreadsheets."
)
QUIET_BEFORE_ACME_DAYS = 14

# The evening before the as-of day, after the CSMs' working day: still inside the SLA
# through most of the as-of day, and already reminded by then.
EVE_NPS_SCORE = 3
EVE_NPS_SECONDS = 18 * 3600 + 50 * 60
# What the scripted answers are, for their comments.
_DRAWN, _ACME, _EVE = 0, 1, 2


def _random_contact(plan: AccountPlan, rows: IntArray, rng: np.random.Generator) -> IntArray:
    contacts = plan.contacts
    offset = np.floor(rng.random(len(rows)) * contacts.count[rows]).astype(np.int64)
    return as_int(contacts.first_id[rows] + offset)


def _nps(plan: AccountPlan, rng: np.random.Generator) -> tuple[IntArray, IntArray, FloatArray]:
    """(plan row, contact id, seconds) of every NPS answer from the quarterly waves."""
    window = plan.window
    waves = window.days // WAVE_DAYS + 2
    phase = rng.uniform(0, WAVE_DAYS, plan.count)
    wave_day = np.floor(phase[:, None] + WAVE_DAYS * np.arange(waves))
    column = np.arange(plan.count)[:, None]
    sent = (
        (wave_day < window.last_index)
        & plan.is_customer(column, wave_day)
        & (wave_day - plan.first_start[column] >= FIRST_SURVEY_AFTER_DAYS)
    )
    account, wave = np.nonzero(sent)
    per_wave = plan.contacts.count[account]
    rows = np.repeat(account, per_wave)
    day = np.repeat(wave_day[account, wave], per_wave)
    group_start = np.repeat(np.cumsum(per_wave) - per_wave, per_wave)
    contact = plan.contacts.first_id[rows] + np.arange(len(rows)) - group_start
    answered = rng.random(len(rows)) < RESPONSE_RATE
    delay = rng.exponential(1.5 * DAY_SECONDS, len(rows))
    seconds = np.floor(day * DAY_SECONDS + delay)
    keep = np.intersect1d(np.flatnonzero(answered), draws.observed(plan, as_int(rows), seconds))
    return as_int(rows[keep]), as_int(contact[keep]), as_float(seconds[keep])


def _eve_account(plan: AccountPlan) -> int | None:
    """The unhappiest customer other than Acme on the eve of the as-of day, if any."""
    day = plan.window.last_index - 1
    rows = np.arange(1, plan.count)
    if day < 0 or not len(rows):
        return None
    surveyed = plan.is_customer(rows, day) & (
        day - plan.first_start[rows] >= FIRST_SURVEY_AFTER_DAYS
    )
    candidates = rows[surveyed]
    if not len(candidates):
        return None
    return int(candidates[np.argmin(plan.mood(candidates, day))])


def plan_surveys(
    plan: AccountPlan,
    tickets: Tickets,
    rng: np.random.Generator,
    picker: Picker,
    id_base: int,
) -> pd.DataFrame:
    """All responses, numbered in the order they arrived, as a survey tool would."""
    window = plan.window
    nps_rows, nps_contact, nps_seconds = _nps(plan, rng)
    # Keep Acme's detractor the latest word from Acme.
    quiet = (nps_rows == 0) & (
        nps_seconds >= window.cutoff_seconds - QUIET_BEFORE_ACME_DAYS * DAY_SECONDS
    )
    nps_rows, nps_contact, nps_seconds = nps_rows[~quiet], nps_contact[~quiet], nps_seconds[~quiet]
    mood = plan.mood(nps_rows, np.floor(nps_seconds / DAY_SECONDS))
    nps_score = np.clip(np.rint(rng.normal(2.0 + 8.0 * mood, 1.6)), 0, 10)

    closed = np.flatnonzero(~np.isnan(tickets.closed_seconds))
    roll = rng.random(len(closed))
    after_ticket = closed[roll < CSAT_SHARE + CES_SHARE]
    is_csat = roll[roll < CSAT_SHARE + CES_SHARE] < CSAT_SHARE
    support_rows = tickets.rows[after_ticket]
    support_seconds = np.floor(
        tickets.closed_seconds[after_ticket] + rng.uniform(0.5, 48.0, len(after_ticket)) * 3600
    )
    keep = draws.observed(plan, support_rows, support_seconds)
    after_ticket, is_csat = after_ticket[keep], is_csat[keep]
    support_rows, support_seconds = support_rows[keep], support_seconds[keep]
    support_mood = plan.mood(support_rows, np.floor(support_seconds / DAY_SECONDS))
    slow = tickets.slow[after_ticket]
    csat = np.clip(
        np.rint(3.2 + 2.0 * support_mood - 0.8 * slow + rng.normal(0, 0.9, len(slow))), 1, 5
    )
    ces = np.clip(np.rint(3.5 + 3.0 * support_mood - slow + rng.normal(0, 1.1, len(slow))), 1, 7)
    support_score = np.where(is_csat, csat, ces)

    acme_day = window.last_index - ACME_NPS_DAYS_AGO
    scripted_rows = [0]
    scripted_seconds = [acme_day * DAY_SECONDS + 16 * 3600 + 5 * 60]
    scripted_scores = [ACME_NPS_SCORE]
    eve = _eve_account(plan)
    if eve is not None:
        scripted_rows.append(eve)
        scripted_seconds.append((window.last_index - 1) * DAY_SECONDS + EVE_NPS_SECONDS)
        scripted_scores.append(EVE_NPS_SCORE)
    scripted = len(scripted_rows)
    rows = np.concatenate([nps_rows, support_rows, scripted_rows])
    contact = np.concatenate(
        [
            nps_contact,
            _random_contact(plan, as_int(support_rows), rng),
            plan.contacts.first_id[scripted_rows],
        ]
    )
    seconds = np.concatenate([nps_seconds, support_seconds, scripted_seconds])
    kinds = np.concatenate(
        [np.zeros(len(nps_rows)), np.where(is_csat, 1, 2), np.zeros(scripted)]
    ).astype(np.int64)
    scores = np.concatenate([nps_score, support_score, scripted_scores]).astype(np.int64)
    category = np.concatenate(
        [np.zeros(len(nps_rows)), tickets.category[after_ticket], np.zeros(scripted)]
    ).astype(np.int64)
    script = np.concatenate(
        [np.full(len(rows) - scripted, _DRAWN), [_ACME, _EVE][:scripted]]
    ).astype(np.int64)
    order = np.lexsort((contact, rows, seconds))
    rows, contact, seconds, kinds = rows[order], contact[order], seconds[order], kinds[order]
    scores, category, script = scores[order], category[order], script[order]

    comments = _comments(plan, as_int(rows), kinds, scores, category, as_int(script), picker)
    position = (contact - plan.contacts.first_id[0]).tolist()
    stamps = window.stamps(seconds)
    ids = np.arange(1, len(rows) + 1, dtype=np.int64) + id_base
    kind_names = ("nps", "csat", "ces")
    return pd.DataFrame(
        {
            "id": ids,
            "provider": PROVIDER,
            "provider_response_id": [
                f"{kind_names[k]}-{i:07d}"
                for k, i in zip(kinds.tolist(), ids.tolist(), strict=True)
            ],
            "kind": [kind_names[k] for k in kinds.tolist()],
            "score": scores,
            "comment": comments,
            "respondent_email": [plan.contacts.emails[p] for p in position],
            "respondent_name": [plan.contacts.names[p] for p in position],
            "account_id": plan.ids[rows],
            "contact_id": contact,
            "submitted_at": stamps,
            "received_at": stamps,
            "updated_at": stamps,
        }
    )


def _comments(
    plan: AccountPlan,
    rows: IntArray,
    kinds: IntArray,
    scores: IntArray,
    category: IntArray,
    script: IntArray,
    picker: Picker,
) -> list[str | None]:
    comments: list[str | None] = []
    for row, kind, score, cat, scripted in zip(
        rows.tolist(),
        kinds.tolist(),
        scores.tolist(),
        category.tolist(),
        script.tolist(),
        strict=True,
    ):
        if scripted == _ACME:
            comments.append(ACME_NPS_COMMENT)
            continue
        context = {"csm": plan.owner_first_name[row], "category": CATEGORY_WORDS[CATEGORIES[cat]]}
        if scripted == _EVE:
            topic = TOPICS[int(plan.pain_topic[row])]
            comments.append(nps_comment(score, topic, picker, context))
            continue
        if kind == 0:
            band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            if not picker.chance(COMMENT_RATE[band]):
                comments.append(None)
                continue
            topic = plan.pain_topic[row] if band == "detractor" else plan.love_topic[row]
            comments.append(nps_comment(score, TOPICS[int(topic)], picker, context))
            continue
        if not picker.chance(COMMENT_RATE["csat" if kind == 1 else "ces"]):
            comments.append(None)
            continue
        good, bad = (4, 2) if kind == 1 else (6, 3)
        sentiment = "positive" if score >= good else "negative" if score <= bad else "neutral"
        comments.append(support_comment(sentiment, picker, context))
    return comments
