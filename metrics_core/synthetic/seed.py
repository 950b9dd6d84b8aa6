"""`seed_database`: plan the whole data set, then write it in one transaction.

All or nothing: a seed interrupted half-way would leave accounts without usage or
contracts without movements, and every metric would quietly mislead. Ids are assigned
here rather than by the database so the rows can reference each other before they are
written and so the same seed gives byte-identical tables; on PostgreSQL the id
sequences are moved past them afterwards so ordinary inserts carry on from there.

Each generator has its own random stream derived from the seed, so tuning how tickets
are drawn never reshuffles usage, and usage blocks are independent of each other.

The demo team's usage-drop playbook runs (`synthetic.playbooks`) start while usage is
drawn, so what their plays did shows in the usage drawn after them; all runs are written
last, with those the stored answers, scores and touchpoints fire.

The last three months of survey answers are the exception to bulk writing: they arrive through
the survey webhook's intake and the team follows them up (`synthetic.followups`), in the
same transaction, after the bulk tables they read.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, select, text

from metrics_core.health import product_features
from metrics_core.revenue.arr import account_history
from metrics_core.store import input_versions, watermarks
from metrics_core.store.bulk import write_frame
from metrics_core.store.db import writer
from metrics_core.store.models import Base
from metrics_core.synthetic.accounts import FEATURES, AccountPlan, plan_accounts, segment_counts
from metrics_core.synthetic.activities import plan_activities, plan_cs_costs
from metrics_core.synthetic.followups import replay, split_answers
from metrics_core.synthetic.playbooks import PlaybookHistory
from metrics_core.synthetic.surveys import plan_surveys
from metrics_core.synthetic.team import plan_team
from metrics_core.synthetic.text import Picker
from metrics_core.synthetic.tickets import plan_tickets
from metrics_core.synthetic.usage import usage_block
from metrics_core.synthetic.value import seed_value
from metrics_core.synthetic.window import Window

ProgressCallback = Callable[[str, int], None]

# Accounts per usage block: ~90k rows at 365 days, a few tens of MB while converted.
USAGE_BLOCK_ACCOUNTS = 250

TABLES_WITH_IDS = (
    "team_members",
    "accounts",
    "contacts",
    "contracts",
    "arr_movements",
    "renewals",
    "tickets",
    "survey_responses",
    "activities",
    "cs_costs",
)
_STREAMS = {
    "team": 1,
    "accounts": 2,
    "usage": 3,
    "tickets": 4,
    "surveys": 5,
    "activities": 6,
    "costs": 7,
    "followups": 8,
    "playbooks": 10,
    "value": 12,
}


@dataclass(frozen=True)
class SeedSummary:
    """Rows written per table, and how long it took (the only non-deterministic field)."""

    accounts: int
    team_members: int
    contacts: int
    contracts: int
    arr_movements: int
    renewals: int
    usage_rows: int
    tickets: int
    survey_responses: int
    activities: int
    cs_costs: int
    follow_ups: int
    seconds: float


class DatabaseNotEmpty(Exception):
    """Seeding refuses to mix invented customers into a database that has real ones."""

    def __init__(self, accounts: int) -> None:
        super().__init__(
            f"the database already has {accounts} account{'s' if accounts != 1 else ''}; "
            "seed only fills an empty database"
        )
        self.accounts = accounts


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[stream], *more])


class _Writer:
    """Writes frames with `bulk.write_frame` and reports rows written per table."""

    def __init__(self, connection: Connection, progress: ProgressCallback | None) -> None:
        self.connection = connection
        self.progress = progress
        self.written: dict[str, int] = {}

    def write(self, table: str, frame: pd.DataFrame) -> None:
        self.written.setdefault(table, 0)
        if self.progress is not None:
            self.progress(table, self.written[table])

        def advance(rows: int) -> None:
            self.written[table] += rows
            if self.progress is not None:
                self.progress(table, self.written[table])

        write_frame(self.connection, _table(table), frame, progress=advance)

    def add(self, table: str, rows: int) -> None:
        """Rows written by other means than `write` (the replayed answers)."""
        self.written[table] = self.written.get(table, 0) + rows
        if self.progress is not None:
            self.progress(table, self.written[table])


def _contract_frames(
    plan: AccountPlan, id_base: dict[str, int]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Contracts from the planned terms; movements and renewals as `arr` derives them."""
    contracts: dict[str, list[object]] = {
        k: [] for k in ("id", "external_id", "account_id", "start_date", "end_date", "arr")
    }
    movements: dict[str, list[object]] = {
        k: [] for k in ("account_id", "contract_id", "kind", "amount", "effective_on")
    }
    renewals: dict[str, list[object]] = {
        k: [] for k in ("account_id", "contract_id", "renewal_date", "arr", "status")
    }
    for account_id, terms in zip(plan.ids.tolist(), plan.terms, strict=True):
        for term in terms:
            contracts["id"].append(term.key)
            contracts["external_id"].append(f"CTR-{term.key:06d}")
            contracts["account_id"].append(account_id)
            contracts["start_date"].append(term.start)
            contracts["end_date"].append(term.end)
            contracts["arr"].append(term.arr)
        account_movements, account_renewals = account_history(terms)
        for movement in account_movements:
            movements["account_id"].append(account_id)
            movements["contract_id"].append(movement.term_key)
            movements["kind"].append(movement.kind.value)
            movements["amount"].append(movement.amount)
            movements["effective_on"].append(movement.effective_on)
        for renewal in account_renewals:
            renewals["account_id"].append(account_id)
            renewals["contract_id"].append(renewal.term_key)
            renewals["renewal_date"].append(renewal.renewal_date)
            renewals["arr"].append(renewal.arr)
            renewals["status"].append(renewal.status.value)
    frames = []
    for name, columns, dates in (
        ("contracts", contracts, ("start_date", "end_date")),
        ("arr_movements", movements, ("effective_on",)),
        ("renewals", renewals, ("renewal_date",)),
    ):
        frame = pd.DataFrame(columns)
        for column in dates:
            frame[column] = np.array(columns[column], dtype="datetime64[D]")
        if name != "contracts":
            ids = np.arange(1, len(frame) + 1, dtype=np.int64) + id_base[name]
            frame.insert(0, "id", ids)
        frames.append(frame)
    return frames[0], frames[1], frames[2]


def _reset_sequences(connection: Connection) -> None:
    """Move PostgreSQL's id sequences just past the ids written here (to 1 in an empty
    table, so that follow-ups are numbered alike after `--replace` and in a new database)."""
    for name in (*TABLES_WITH_IDS, "follow_ups"):
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f'coalesce(max(id), 0) + 1, false) FROM "{name}"'
            )
        )


def _vacuum_analyze(engine: Engine, tables: list[str]) -> None:
    """`VACUUM (ANALYZE)` the tables just filled, as PostgreSQL advises after a bulk load.

    Until autovacuum comes by, minutes later, the planner knows nothing of the new rows
    (the first questions asked of a fresh book were planned as if it were empty, and one
    account's health took half as long again), and the visibility map that lets an index
    answer without reading the table is not set. VACUUM cannot run in a transaction.
    """
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM (ANALYZE) {', '.join(quote(table) for table in tables)}"))


def seed_database(
    engine: Engine,
    *,
    accounts: int = 500,
    days: int = 365,
    seed: int = 7,
    as_of: dt.date,
    progress: ProgressCallback | None = None,
) -> SeedSummary:
    """Fill an empty database with a realistic, reproducible customer base.

    The same `accounts`, `days`, `seed` and `as_of` give identical rows on any
    database. `progress(table, rows_written_so_far)` is called as each table fills;
    usage has at most `accounts × days` rows. Raises `DatabaseNotEmpty` if accounts
    exist, leaving the database untouched.
    """
    if accounts < 1:
        raise ValueError("accounts must be at least 1 (Acme Corp is always seeded)")
    if days < 1:
        raise ValueError("days must be at least 1")
    if seed < 0:
        raise ValueError("seed must not be negative")
    started = time.perf_counter()
    window = Window(as_of=as_of, days=days)
    with writer(engine).begin() as connection:
        existing = connection.execute(
            select(func.count()).select_from(_table("accounts"))
        ).scalar_one()
        if existing:
            raise DatabaseNotEmpty(int(existing))
        id_base = {
            name: int(
                connection.execute(
                    select(func.coalesce(func.max(_table(name).c.id), 0))
                ).scalar_one()
            )
            for name in TABLES_WITH_IDS
        }
        tables = _Writer(connection, progress)

        team = plan_team(
            segment_counts(accounts), Picker(_rng(seed, "team")), id_base["team_members"]
        )
        tables.write("team_members", team.frame)
        rng = _rng(seed, "accounts")
        plan = plan_accounts(accounts, window, team, rng, Picker(rng), id_base)
        tables.write("accounts", plan.frame())
        tables.write("contacts", plan.contacts.frame)
        contracts, movements, renewals = _contract_frames(plan, id_base)
        tables.write("contracts", contracts)
        tables.write("arr_movements", movements)
        tables.write("renewals", renewals)

        history = PlaybookHistory(plan, lambda *more: _rng(seed, "playbooks", *more))
        for block, begin in enumerate(range(0, accounts, USAGE_BLOCK_ACCOUNTS)):
            rows = np.arange(begin, min(begin + USAGE_BLOCK_ACCOUNTS, accounts), dtype=np.int64)
            usage = usage_block(history.world, rows, _rng(seed, "usage", block))
            tables.write("usage_daily", history.usage(rows, usage, block))
        product_features.record(connection, dict.fromkeys(FEATURES, window.first))
        watermarks.advance(connection, watermarks.USAGE, as_of)

        rng = _rng(seed, "tickets")
        tickets = plan_tickets(plan, rng, Picker(rng), id_base["tickets"])
        tables.write("tickets", tickets.frame)
        rng = _rng(seed, "surveys")
        surveys = plan_surveys(plan, tickets, rng, Picker(rng), id_base["survey_responses"])
        older, recent = split_answers(surveys, window)
        tables.write("survey_responses", older)
        rng = _rng(seed, "activities")
        activities = plan_activities(plan, rng, Picker(rng), id_base["activities"])
        tables.write("activities", activities)
        costs = plan_cs_costs(plan, _rng(seed, "costs"), id_base["cs_costs"])
        tables.write("cs_costs", costs)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)  # the replay inserts the ordinary way
        replay(connection, recent, plan, team, _rng(seed, "followups"), advance=tables.add)
        seed_value(connection, plan, _rng(seed, "value"), tables.write)
        history.write(connection, tables.write)
        input_versions.bump(connection)
        written = dict(tables.written)
    if engine.dialect.name == "postgresql":
        _vacuum_analyze(engine, sorted(written))
    return SeedSummary(
        accounts=written.get("accounts", 0),
        team_members=written.get("team_members", 0),
        contacts=written.get("contacts", 0),
        contracts=written.get("contracts", 0),
        arr_movements=written.get("arr_movements", 0),
        renewals=written.get("renewals", 0),
        usage_rows=written.get("usage_daily", 0),
        tickets=written.get("tickets", 0),
        survey_responses=written.get("survey_responses", 0),
        activities=written.get("activities", 0),
        cs_costs=written.get("cs_costs", 0),
        follow_ups=written.get("follow_ups", 0),
        seconds=time.perf_counter() - started,
    )
