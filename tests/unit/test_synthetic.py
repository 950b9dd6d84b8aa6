"""The synthetic data generator's building blocks, without a database."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid

import numpy as np
import pytest

from metrics_core.revenue.arr import account_history
from metrics_core.store.models import RenewalStatus
from metrics_core.synthetic.accounts import (
    FEATURES,
    AccountPlan,
    Trajectory,
    plan_accounts,
    segment_counts,
)
from metrics_core.synthetic.team import (
    BOOK_SIZE,
    csm_aad_object_id,
    csms_per_segment,
    plan_team,
)
from metrics_core.synthetic.text import (
    TOPICS,
    Picker,
    company_names,
    nps_comment,
    support_comment,
    vocabulary,
)
from metrics_core.synthetic.usage import usage_block
from metrics_core.synthetic.window import Window, add_years

AS_OF = dt.date(2026, 11, 20)
NO_IDS = dict.fromkeys(
    ("team_members", "accounts", "contacts", "contracts", "tickets", "activities"), 0
)


def _plan(accounts: int, days: int = 365, seed: int = 3) -> AccountPlan:
    rng = np.random.default_rng(seed)
    team = plan_team(segment_counts(accounts), Picker(rng), 0)
    return plan_accounts(accounts, Window(AS_OF, days), team, rng, Picker(rng), NO_IDS)


@pytest.fixture(scope="module")
def plan() -> AccountPlan:
    return _plan(2_000)


def test_add_years_keeps_the_day_and_survives_leap_days() -> None:
    assert add_years(dt.date(2025, 3, 14), -2) == dt.date(2023, 3, 14)
    assert add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)


def test_window_counts_back_from_as_of() -> None:
    window = Window(AS_OF, 30)
    assert window.first == dt.date(2026, 10, 22)
    assert window.date(window.last_index) == AS_OF
    assert window.weekday(np.array([window.last_index]))[0] == AS_OF.weekday()
    stamps = window.stamps(np.array([3600.0, np.nan]))
    assert str(stamps[0]) == "2026-10-22T01:00:00"
    assert np.isnat(stamps[1])


def test_team_has_the_documented_identities() -> None:
    team = plan_team(segment_counts(60), Picker(np.random.default_rng(0)), 0)
    frame = team.frame
    csms = frame[frame.role == "csm"]
    managers = frame[frame.role == "manager"]
    assert [f"U0CSM{n}" for n in range(1, 9)] == csms.slack_user_id.tolist()[:8]
    assert csms.teams_aad_object_id.tolist()[0] == "00000000-0000-4000-8000-000000000001"
    assert managers.slack_user_id.tolist()[0] == "U0MGR1"
    assert 1 <= len(managers) <= 2
    assert set(csms.manager_id.tolist()) <= set(managers.id.tolist())
    assert frame.email.is_unique
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@closeloop\.example", e) for e in frame.email)
    # U0CSM1 owns Acme, so it must be an Enterprise CSM.
    assert int(csms.id.iloc[0]) in team.csm_ids[0].tolist()


def test_aad_object_ids_are_version_4_guids() -> None:
    for number in (1, 8, 123):
        assert uuid.UUID(csm_aad_object_id(number)).version == 4


@pytest.mark.parametrize("accounts", [1, 5, 60, 500, 10_000])
def test_books_stay_realistic(accounts: int) -> None:
    counts = segment_counts(accounts)
    per_segment = csms_per_segment(counts)
    assert sum(per_segment) >= 8
    for count, csms, book in zip(counts, per_segment, BOOK_SIZE, strict=True):
        if count:
            assert count / csms <= book


def test_company_names_are_unique_and_never_acme() -> None:
    names = company_names(5_000, Picker(np.random.default_rng(1)), ("acme",))
    slugs = [slug for _, slug in names]
    assert len(set(slugs)) == len(slugs)
    assert not any("acme" in slug for slug in slugs)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs)


def _template_pattern(templates: list[str]) -> re.Pattern[str]:
    alternatives = [re.sub(r"\\\{\w+\\\}", ".+", re.escape(t)) for t in templates]
    return re.compile("(" + "|".join(alternatives) + ")")


def test_comments_match_the_score() -> None:
    comments = vocabulary()["comments"]
    promoter = [t for topic in TOPICS for t in comments["promoter"][topic]]
    detractor = [t for topic in TOPICS for t in comments["detractor"][topic]]
    picker = Picker(np.random.default_rng(2))
    context = {"csm": "Dana", "category": "billing"}
    for _ in range(300):
        topic = picker.pick(TOPICS)
        praise = nps_comment(10, topic, picker, context)
        complaint = nps_comment(2, topic, picker, context)
        assert _template_pattern(promoter).match(praise), praise
        assert _template_pattern(detractor).match(complaint), complaint
        assert not _template_pattern(detractor).match(praise)
        assert "{" not in praise + complaint
    negative = support_comment("negative", picker, context)
    assert _template_pattern(comments["support_negative"]).fullmatch(negative)


def test_segment_mix_is_exact(plan: AccountPlan) -> None:
    shares = np.bincount(plan.segment, minlength=3) / plan.count
    assert shares.tolist() == pytest.approx([0.10, 0.30, 0.60], abs=0.001)


def test_churn_share_and_trajectories(plan: AccountPlan) -> None:
    in_window = (plan.churn_day >= 0) & (plan.churn_day < plan.window.days)
    assert 0.08 <= in_window.mean() <= 0.15  # a year's churn: 5–13 % by segment
    churners = np.isin(plan.trajectory, (Trajectory.CHURNING, Trajectory.SILENT_CHURN))
    assert (in_window == churners).all()
    # About a quarter of them give no warning: as predictable as real churn, not more.
    assert 0.15 <= (plan.trajectory == Trajectory.SILENT_CHURN).sum() / churners.sum() <= 0.4
    # Customers lost before the window, so earlier years' retention is not perfect.
    lapsed = plan.churn_day < 0
    assert (lapsed == (plan.trajectory == Trajectory.LAPSED)).all()
    assert 0.1 <= lapsed.mean() <= 0.3
    assert (np.bincount(plan.trajectory, minlength=len(Trajectory)) > 0.02 * plan.count).all()


def test_acme_is_row_zero_with_a_renewal_in_two_to_three_months(plan: AccountPlan) -> None:
    assert (plan.names[0], plan.external_ids[0], plan.domains[0]) == (
        "Acme Corp",
        "ACME",
        "acme.example",
    )
    assert plan.segment[0] == 0
    assert plan.external_ids.count("ACME") == 1
    assert "Acme Corp" not in plan.names[1:]
    renewal = plan.terms[0][-1].end
    assert 60 <= (renewal - AS_OF).days <= 90


def test_terms_are_annual_and_renewals_spread_over_the_next_year(plan: AccountPlan) -> None:
    upcoming: list[dt.date] = []
    for terms, lifecycle in zip(plan.terms, plan.lifecycle, strict=True):
        for before, after in itertools.pairwise(terms):
            assert before.end == after.start
        assert all(add_years(t.start, 1) == t.end for t in terms)
        _, renewals = account_history(terms)
        last = renewals[-1]
        if lifecycle == "churned":
            assert last.status is RenewalStatus.CHURNED
            assert last.renewal_date <= AS_OF
        else:
            assert last.status is RenewalStatus.UPCOMING
            upcoming.append(last.renewal_date)
    quarters = np.bincount([((d - AS_OF).days - 1) // 92 for d in upcoming], minlength=4)
    assert len(quarters) == 4
    assert (quarters > 0.12 * len(upcoming)).all()


def test_every_account_has_an_owner_from_its_segment(plan: AccountPlan) -> None:
    team = plan_team(segment_counts(plan.count), Picker(np.random.default_rng(3)), 0)
    for segment, csms in enumerate(team.csm_ids):
        owners = set(plan.owner_id[plan.segment == segment].tolist())
        assert owners == set(csms.tolist())


def test_usage_respects_seats_churn_and_weekends() -> None:
    plan = _plan(200, days=120)
    rows = np.arange(plan.count, dtype=np.int64)
    usage = usage_block(plan, rows, np.random.default_rng(4))
    position = usage.account_id.to_numpy() - 1
    day = plan.window.dates(np.arange(plan.window.days))
    day_index = np.searchsorted(day, usage.day.to_numpy().astype("datetime64[D]"))
    # Seats follow the contract in force that day (a contraction means fewer seats now).
    seats = np.maximum(1, np.rint(plan.seats[position] * plan.seat_scale(position, day_index)))
    assert (usage.active_users <= seats).all()
    assert (day_index < plan.churn_day[position]).all()
    assert (day_index >= plan.first_start[position]).all()
    weekend = plan.window.weekday(day_index) >= 5
    assert usage.active_users[weekend].mean() < 0.4 * usage.active_users[~weekend].mean()
    keys = {k for counts in usage.feature_counts for k in counts}
    assert keys <= set(FEATURES)
    assert all(v > 0 for counts in usage.feature_counts for v in counts.values())


def test_declining_accounts_lose_users_before_they_churn() -> None:
    plan = _plan(400, days=365)
    window = plan.window
    early = plan.churn_day - 150
    churners = np.flatnonzero((plan.trajectory == Trajectory.CHURNING) & (early >= 0))
    churners = churners[plan.first_start[churners] < early[churners] - 60]
    assert len(churners) >= 5
    level_early = plan.usage_level(churners, early[churners])
    level_late = plan.usage_level(churners, plan.churn_day[churners] - 1)
    assert (level_late < level_early).mean() > 0.9
    assert plan.mood(churners, plan.churn_day[churners] - 1).mean() < 0.45
    assert window.days == 365


def test_same_seed_same_plan_and_a_new_seed_changes_it() -> None:
    first, again, other = _plan(300, seed=11), _plan(300, seed=11), _plan(300, seed=12)
    assert first.names == again.names
    assert first.terms == again.terms
    assert np.array_equal(first.curve.adoption, again.curve.adoption)
    assert first.names != other.names
