"""`seed_database` against real databases: what a user of `closeloop seed` would check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, select, text

from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Account, Base, Segment, TeamMember
from metrics_core.synthetic import DatabaseNotEmpty, SeedSummary, seed_database

AS_OF = dt.date(2026, 11, 20)

SUMMARY_TABLES = {
    "accounts": "accounts",
    "team_members": "team_members",
    "contacts": "contacts",
    "contracts": "contracts",
    "arr_movements": "arr_movements",
    "renewals": "renewals",
    "usage_rows": "usage_daily",
    "tickets": "tickets",
    "survey_responses": "survey_responses",
    "activities": "activities",
    "cs_costs": "cs_costs",
    "follow_ups": "follow_ups",
}


def _seed_small(
    engine: Engine, *, seed: int = 7, progress: Callable[[str, int], None] | None = None
) -> SeedSummary:
    """60 accounts × 60 days: every table gets rows, and it takes a fraction of a second."""
    return seed_database(engine, accounts=60, days=60, seed=seed, as_of=AS_OF, progress=progress)


def _fresh_engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as sorted tuples, so two databases can be compared exactly."""
    with engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())


def test_seed_writes_what_the_summary_says(db: Database) -> None:
    stages: list[tuple[str, int]] = []
    summary = _seed_small(db.engine, seed=3, progress=lambda s, n: stages.append((s, n)))
    for field, table in SUMMARY_TABLES.items():
        assert getattr(summary, field) == _count(db.engine, table), table
        assert getattr(summary, field) > 0, table
    assert summary.accounts == 60
    assert _count(db.engine, "health_snapshots") == 0
    assert summary.seconds > 0
    # Progress reports rows written so far per table, ending at the table's total.
    final = dict(stages)
    assert final["usage_daily"] == summary.usage_rows
    assert [s for s, _ in stages if s == "accounts"][:1] == ["accounts"]

    # Ordinary inserts carry on after the seeded ids (PostgreSQL sequences were moved).
    with db.writing() as session:
        account = Account(
            external_id="NEW-1",
            name="Newco",
            segment=Segment.SMB,
            created_on=AS_OF,
        )
        session.add(account)
        session.add(TeamMember(email="new.csm@closeloop.example", name="New CSM"))
        session.flush()
        assert account.id == 61


def test_a_database_with_accounts_is_refused_untouched(db: Database) -> None:
    _seed_small(db.engine)
    before = _snapshot(db.engine)
    with pytest.raises(DatabaseNotEmpty, match="60 accounts"):
        _seed_small(db.engine, seed=99)
    assert _snapshot(db.engine) == before


def test_a_failed_seed_writes_nothing(sqlite_db: Database) -> None:
    def fail_during_usage(stage: str, rows: int) -> None:
        if stage == "usage_daily" and rows > 0:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        _seed_small(sqlite_db.engine, progress=fail_during_usage)
    for table in SUMMARY_TABLES.values():
        assert _count(sqlite_db.engine, table) == 0
    _seed_small(sqlite_db.engine)  # and the database is still seedable


def test_invalid_sizes_are_refused(sqlite_db: Database) -> None:
    with pytest.raises(ValueError, match="accounts"):
        seed_database(sqlite_db.engine, accounts=0, as_of=AS_OF)
    with pytest.raises(ValueError, match="days"):
        seed_database(sqlite_db.engine, days=0, as_of=AS_OF)


def test_same_arguments_give_identical_databases(tmp_path: Path) -> None:
    engines = [_fresh_engine(f"sqlite:///{tmp_path / f'{n}.db'}") for n in range(3)]
    try:
        _seed_small(engines[0], seed=5)
        _seed_small(engines[1], seed=5)
        _seed_small(engines[2], seed=6)
        first, again, other = (_snapshot(e) for e in engines)
        assert first == again
        assert sum(len(rows) for rows in first.values()) > 3_000
        for table in ("accounts", "usage_daily", "tickets", "survey_responses", "activities"):
            assert first[table] != other[table], table
    finally:
        for engine in engines:
            engine.dispose()


@pytest.mark.postgres
def test_sqlite_and_postgresql_get_the_same_rows(sqlite_url: str, postgres_schema_url: str) -> None:
    sqlite, postgres = _fresh_engine(sqlite_url), _fresh_engine(postgres_schema_url)
    try:
        _seed_small(sqlite)
        _seed_small(postgres)
        assert _snapshot(sqlite) == _snapshot(postgres)
    finally:
        sqlite.dispose()
        postgres.dispose()


@pytest.mark.postgres
def test_a_seeded_postgresql_book_is_vacuumed_and_analyzed(postgres_schema_url: str) -> None:
    """Without them the first questions of a fresh book are planned as if it were empty."""
    engine = _fresh_engine(postgres_schema_url)
    try:
        _seed_small(engine)
        with engine.connect() as connection:
            analyzed = dict(
                connection.execute(
                    text(
                        "SELECT relname, last_analyze IS NOT NULL AND last_vacuum IS NOT NULL "
                        "FROM pg_stat_user_tables "
                        "WHERE schemaname = current_schema()"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    for table in ("accounts", "usage_daily", "tickets", "activities", "survey_responses"):
        assert analyzed[table], table


# One medium data set, seeded once, for the checks of what the data looks like.
@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, SeedSummary]]:
    path = tmp_path_factory.mktemp("seeded") / "closeloop.db"
    engine = _fresh_engine(f"sqlite:///{path}")
    summary = seed_database(engine, accounts=400, days=180, seed=7, as_of=AS_OF)
    yield engine, summary
    engine.dispose()


def _read(seeded: tuple[Engine, SeedSummary], sql: str, **params: Any) -> pd.DataFrame:
    return pd.read_sql(text(sql), seeded[0], params=params)


def test_acme_corp_has_a_story(seeded: tuple[Engine, SeedSummary]) -> None:
    acme = _read(seeded, "SELECT * FROM accounts WHERE name = 'Acme Corp'")
    assert len(acme) == 1
    row = acme.iloc[0]
    assert (row.external_id, row.domain, row.segment) == ("ACME", "acme.example", "Enterprise")
    owner = _read(seeded, f"SELECT slack_user_id FROM team_members WHERE id = {row.owner_id}")
    assert owner.slack_user_id.tolist() == ["U0CSM1"]

    renewal = _read(
        seeded,
        f"SELECT renewal_date FROM renewals WHERE account_id = {row.id} AND status = 'upcoming'",
    )
    days_to_renewal = (pd.Timestamp(renewal.renewal_date.iloc[0]).date() - AS_OF).days
    assert 60 <= days_to_renewal <= 90

    usage = _read(seeded, f"SELECT day, active_users FROM usage_daily WHERE account_id = {row.id}")
    usage["day"] = pd.to_datetime(usage.day)
    weekdays = usage[usage.day.dt.day_of_week < 5].set_index("day").active_users
    recent = weekdays[weekdays.index > pd.Timestamp(AS_OF) - pd.Timedelta(days=14)].mean()
    before = weekdays[weekdays.index <= pd.Timestamp(AS_OF) - pd.Timedelta(days=42)].mean()
    assert recent < 0.8 * before

    ticket = _read(
        seeded,
        f"SELECT * FROM tickets WHERE account_id = {row.id} AND status = 'open' "
        "AND priority IN ('high', 'urgent') ORDER BY opened_at DESC",
    )
    assert len(ticket) >= 1
    assert pd.Timestamp(ticket.opened_at.iloc[0]) >= pd.Timestamp(AS_OF) - pd.Timedelta(days=7)

    latest_nps = _read(
        seeded,
        f"SELECT * FROM survey_responses WHERE account_id = {row.id} AND kind = 'nps' "
        "ORDER BY submitted_at DESC LIMIT 1",
    ).iloc[0]
    assert latest_nps.score <= 6
    assert latest_nps.comment
    assert latest_nps.respondent_email.endswith("@acme.example")
    assert pd.Timestamp(latest_nps.submitted_at) >= pd.Timestamp(AS_OF) - pd.Timedelta(days=14)


def test_the_documented_team_exists(seeded: tuple[Engine, SeedSummary]) -> None:
    team = _read(seeded, "SELECT * FROM team_members")
    csms = team[team.role == "csm"]
    assert {f"U0CSM{n}" for n in range(1, 9)} <= set(csms.slack_user_id)
    assert csms.manager_id.notna().all()
    managers = team[team.role == "manager"]
    assert set(csms.manager_id.astype(int)) <= set(managers.id)
    assert team.teams_aad_object_id.is_unique


def test_every_account_has_a_csm_owner(seeded: tuple[Engine, SeedSummary]) -> None:
    orphans = _read(
        seeded,
        "SELECT a.id FROM accounts a LEFT JOIN team_members t ON t.id = a.owner_id "
        "WHERE t.role IS NULL OR t.role != 'csm'",
    )
    assert orphans.empty


def test_segment_mix(seeded: tuple[Engine, SeedSummary]) -> None:
    mix = _read(seeded, "SELECT segment, count(*) AS n FROM accounts GROUP BY segment")
    shares = dict(zip(mix.segment, mix.n / mix.n.sum(), strict=True))
    assert shares["Enterprise"] == pytest.approx(0.10, abs=0.02)
    assert shares["Mid-market"] == pytest.approx(0.30, abs=0.03)
    assert shares["SMB"] == pytest.approx(0.60, abs=0.03)


def test_churned_accounts_are_churned_everywhere(seeded: tuple[Engine, SeedSummary]) -> None:
    churns = _read(
        seeded,
        "SELECT m.account_id, m.effective_on, a.lifecycle_stage FROM arr_movements m "
        "JOIN accounts a ON a.id = m.account_id WHERE m.kind = 'churn'",
    )
    accounts = seeded[1].accounts
    # Half a year of the window (180 days) at 5–13 % a year by segment, and the customers
    # lost in the two years before it: retention history is not perfect before the window.
    in_window = churns[churns.effective_on >= str(AS_OF - dt.timedelta(days=179))]
    assert 0.03 * accounts <= len(in_window) <= 0.1 * accounts
    assert 0.1 * accounts <= len(churns) - len(in_window) <= 0.3 * accounts
    assert churns.account_id.is_unique
    assert (churns.lifecycle_stage == "churned").all()
    churned_renewals = _read(seeded, "SELECT account_id FROM renewals WHERE status = 'churned'")
    assert set(churned_renewals.account_id) == set(churns.account_id)
    stage = _read(seeded, "SELECT id FROM accounts WHERE lifecycle_stage = 'churned'")
    assert set(stage.id) == set(churns.account_id)
    late_usage = _read(
        seeded,
        "SELECT count(*) AS n FROM usage_daily u JOIN arr_movements m "
        "ON m.account_id = u.account_id AND m.kind = 'churn' WHERE u.day >= m.effective_on",
    )
    assert late_usage.n.iloc[0] == 0


def test_weekends_are_quieter(seeded: tuple[Engine, SeedSummary]) -> None:
    usage = _read(seeded, "SELECT day, active_users FROM usage_daily")
    weekend = pd.to_datetime(usage.day).dt.day_of_week >= 5
    assert usage.active_users[weekend].mean() < 0.4 * usage.active_users[~weekend].mean()


def test_declining_accounts_score_lower_than_expanding_ones(
    seeded: tuple[Engine, SeedSummary],
) -> None:
    scores = _read(
        seeded,
        "SELECT s.score, "
        "EXISTS (SELECT 1 FROM arr_movements m WHERE m.account_id = s.account_id "
        "        AND m.kind = 'churn') AS churned, "
        "EXISTS (SELECT 1 FROM arr_movements m WHERE m.account_id = s.account_id "
        "        AND m.kind = 'expansion' AND m.effective_on > :start) AS expanded "
        "FROM survey_responses s WHERE s.kind = 'nps'",
        start=AS_OF - dt.timedelta(days=180),
    )
    churned = scores[scores.churned == 1].score
    expanded = scores[(scores.expanded == 1) & (scores.churned == 0)].score
    assert len(churned) >= 10
    assert len(expanded) >= 10
    assert churned.mean() < expanded.mean() - 1.5
    assert scores.score.between(0, 10).all()


def test_renewals_spread_over_the_next_year(seeded: tuple[Engine, SeedSummary]) -> None:
    upcoming = _read(seeded, "SELECT renewal_date FROM renewals WHERE status = 'upcoming'")
    days = (pd.to_datetime(upcoming.renewal_date) - pd.Timestamp(AS_OF)).dt.days
    assert days.between(1, 366).all()
    quarters = (days - 1) // 92
    assert quarters.value_counts().reindex(range(4), fill_value=0).min() >= 0.1 * len(days)


def test_surveys_are_well_formed(seeded: tuple[Engine, SeedSummary]) -> None:
    responses = _read(seeded, "SELECT * FROM survey_responses")
    assert set(responses.kind) == {"nps", "csat", "ces"}
    assert (responses.provider == "seed").all()
    assert responses.provider_response_id.is_unique
    assert responses[responses.kind == "csat"].score.between(1, 5).all()
    assert responses[responses.kind == "ces"].score.between(1, 7).all()
    assert 0.3 <= responses.comment.notna().mean() <= 0.7
    assert responses.comment.dropna().nunique() > 0.3 * responses.comment.notna().sum()
    mismatched = _read(
        seeded,
        "SELECT count(*) AS n FROM survey_responses s JOIN contacts c ON c.id = s.contact_id "
        "WHERE c.email != s.respondent_email OR c.account_id != s.account_id",
    )
    assert mismatched.n.iloc[0] == 0
    assert (responses.submitted_at == responses.received_at).all()
    assert (pd.to_datetime(responses.submitted_at) < pd.Timestamp(AS_OF)).all()


def test_cs_cost_to_retain_is_near_the_benchmark(seeded: tuple[Engine, SeedSummary]) -> None:
    first = dt.date(2026, 6, 1)  # the first whole month of the 180-day window
    cost = _read(
        seeded,
        f"SELECT sum(amount) AS cost, count(*) AS n FROM cs_costs WHERE period_start >= '{first}'",
    )
    arr = _read(
        seeded,
        "SELECT sum(CASE WHEN kind IN ('new', 'expansion') THEN amount ELSE -amount END) AS arr "
        f"FROM arr_movements WHERE effective_on <= '{AS_OF}'",
    )
    yearly = cost.cost.iloc[0] * 365 / ((AS_OF - first).days + 1)
    assert 0.04 <= yearly / arr.arr.iloc[0] <= 0.09
    assert cost.n.iloc[0] == 3 * 6  # June to November 2026 (partial), three segments
    # The cost history reaches back as far as the contracts of customers lost before the
    # window (two years), so earlier years have a cost to retain too.
    earliest = _read(seeded, "SELECT min(period_start) AS day FROM cs_costs")
    assert str(earliest.day.iloc[0]) <= str(AS_OF - dt.timedelta(days=179 + 2 * 365))
