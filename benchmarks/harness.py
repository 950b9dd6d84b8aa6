"""`closeloop bench`: the speed and memory targets, measured.

Each case runs in a fresh Python process, so its peak RSS is its own and not the
leftover of an earlier case; the parent prepares inputs (a CSV to import, say) before
starting the child, so preparation does not count against the case either.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

AS_OF = dt.date(2026, 11, 20)


@dataclass(frozen=True, slots=True)
class Measurement:
    case: str
    metric: str
    value: float
    unit: str
    limit: float | None = None  # the target: value must stay at or below it

    @property
    def ok(self) -> bool | None:
        return None if self.limit is None else self.value <= self.limit


def _peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sqlite_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'bench.db'}"


def _case_seed(workdir: Path, scale: float) -> list[Measurement]:
    from metrics_core.store.db import make_engine
    from metrics_core.store.migrate import upgrade
    from metrics_core.synthetic import seed_database

    accounts = max(50, int(10_000 * scale))
    engine = make_engine(_sqlite_url(workdir))
    upgrade(engine)
    started = time.perf_counter()
    summary = seed_database(engine, accounts=accounts, days=365, seed=7, as_of=AS_OF)
    seconds = time.perf_counter() - started
    engine.dispose()
    name = f"seed {accounts:,} accounts × 365 days (SQLite)"
    return [
        Measurement(name, "wall time", seconds, "s", 120.0 if accounts >= 10_000 else None),
        Measurement(name, "peak memory", _peak_rss_mib(), "MiB", 1024.0),
        Measurement(name, "usage rows", summary.usage_rows, "rows"),
    ]


def _prepare_usage_csv(workdir: Path, scale: float) -> None:
    """Accounts in the database and a usage file with `rows` rows for them."""
    rows = max(10_000, int(1_000_000 * scale))
    accounts = max(10, rows // 365)
    accounts_csv = workdir / "accounts.csv"
    with accounts_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "segment", "seats", "created_on"])
        for n in range(accounts):
            writer.writerow([f"ACC-{n:05d}", f"Account {n}", "SMB", 40, "2024-01-01"])
    usage_csv = workdir / "usage.csv"
    first = AS_OF - dt.timedelta(days=rows // accounts + 1)
    with usage_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["account_external_id", "date", "active_users", "sessions", "events", "feature_reports"]
        )
        written = 0
        day = 0
        while written < rows:
            date = (first + dt.timedelta(days=day)).isoformat()
            for n in range(min(accounts, rows - written)):
                users = (n * 7 + day * 3) % 40
                writer.writerow([f"ACC-{n:05d}", date, users, users * 2, users * 25, users % 5])
            written += min(accounts, rows - written)
            day += 1


def _case_import(workdir: Path, scale: float) -> list[Measurement]:
    from metrics_core.importing import import_csv
    from metrics_core.store.db import make_engine
    from metrics_core.store.migrate import upgrade

    engine = make_engine(_sqlite_url(workdir))
    upgrade(engine)
    import_csv(engine, "accounts", workdir / "accounts.csv")
    before = _peak_rss_mib()
    started = time.perf_counter()
    result = import_csv(engine, "usage", workdir / "usage.csv")
    seconds = time.perf_counter() - started
    engine.dispose()
    name = f"import {result.rows:,} usage rows (SQLite)"
    return [
        Measurement(name, "wall time", seconds, "s", 30.0 if result.rows >= 1_000_000 else None),
        Measurement(name, "peak memory", max(before, _peak_rss_mib()), "MiB"),
        Measurement(name, "throughput", result.rows / seconds, "rows/s"),
    ]


def _prepare_portfolio(workdir: Path, scale: float) -> None:
    """The data set the metric targets are stated for: 10,000 accounts × 365 days."""
    from metrics_core.store.db import make_engine
    from metrics_core.store.migrate import upgrade
    from metrics_core.synthetic import seed_database

    engine = make_engine(_sqlite_url(workdir))
    upgrade(engine)
    seed_database(engine, accounts=max(50, int(10_000 * scale)), days=365, seed=7, as_of=AS_OF)
    engine.dispose()


def _timed(work: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def _case_metrics(workdir: Path, scale: float) -> list[Measurement]:
    import random
    import statistics

    from sqlalchemy import select

    from metrics_core.churn.risk import train
    from metrics_core.config import Config
    from metrics_core.health.portfolio import portfolio
    from metrics_core.health.scorecard import account_health
    from metrics_core.revenue.rates import retention
    from metrics_core.store.db import Database, make_engine
    from metrics_core.store.frames import movements
    from metrics_core.store.models import Account

    config = Config()
    db = Database(make_engine(_sqlite_url(workdir)))
    full = scale >= 1.0
    with db.reading() as session:
        ids = list(session.scalars(select(Account.id)))
        accounts = len(ids)
    sample = random.Random(7).sample(ids, min(300, len(ids)))

    def one_health(account_id: int) -> None:
        with db.reading() as session:
            account_health(session, account_id, AS_OF, config)

    one_health(sample[0])  # warm caches and imports, as a running service has them
    health_times = []
    for account_id in sample:
        started = time.perf_counter()
        one_health(account_id)
        health_times.append(time.perf_counter() - started)
    health_times.sort()
    with db.reading() as session:
        started = time.perf_counter()
        model = train(session, AS_OF, config)
        training = time.perf_counter() - started

    def whole_book() -> None:
        with db.reading() as session:
            portfolio(session, AS_OF, config, model)

    book_times = _timed(whole_book, 3)

    def nrr_year() -> None:
        with db.reading() as session:
            moves = movements(session, until=AS_OF)
        retention(moves, AS_OF - dt.timedelta(days=365), AS_OF)

    nrr_times = _timed(nrr_year, 7)
    db.close()
    name = f"metrics on {accounts:,} accounts × 365 days (SQLite)"
    p99 = health_times[min(len(health_times) - 1, int(len(health_times) * 0.99))]
    return [
        Measurement(
            name,
            "one account's health, median",
            statistics.median(health_times) * 1000,
            "ms",
            10.0 if full else None,
        ),
        Measurement(name, "one account's health, p99", p99 * 1000, "ms"),
        Measurement(
            name,
            "portfolio health + risk, median",
            statistics.median(book_times),
            "s",
            2.0 if full else None,
        ),
        Measurement(
            name,
            "NRR/GRR for a year, median",
            statistics.median(nrr_times) * 1000,
            "ms",
            200.0 if full else None,
        ),
        Measurement(name, f"churn model training ({model.method.value})", training, "s"),
        Measurement(name, "peak memory", _peak_rss_mib(), "MiB"),
    ]


def _case_slack(workdir: Path, scale: float) -> list[Measurement]:
    import asyncio

    from benchmarks.slack import measure

    count = max(50, int(500 * min(1.0, scale * 10)))
    figures = asyncio.run(measure(_sqlite_url(workdir), count))
    name = "Slack /health round trip, signed HTTP on loopback (SQLite)"
    full = scale >= 1.0
    ratio = figures["ours_median"] / figures["bare_median"]
    return [
        Measurement(name, "Closeloop median", figures["ours_median"] * 1000, "ms"),
        Measurement(
            name, "Closeloop p99", figures["ours_p99"] * 1000, "ms", 100.0 if full else None
        ),
        Measurement(
            name, "first question about an account, median", figures["first_median"] * 1000, "ms"
        ),
        Measurement(
            name, "first question about an account, p99", figures["first_p99"] * 1000, "ms"
        ),
        Measurement(name, "bare slack-bolt median", figures["bare_median"] * 1000, "ms"),
        Measurement(name, "bare slack-bolt p99", figures["bare_p99"] * 1000, "ms"),
        Measurement(name, "median ratio (Closeloop / bare)", ratio, "×", 2.0 if full else None),
        Measurement(
            name, "acknowledgement, Closeloop median", figures["ours_ack_median"] * 1000, "ms"
        ),
        Measurement(name, "acknowledgement, bare median", figures["bare_ack_median"] * 1000, "ms"),
        Measurement(name, "requests per app", count, "requests"),
    ]


def _case_webhooks(workdir: Path, scale: float) -> list[Measurement]:
    import asyncio

    from benchmarks.webhooks import measure

    count = max(50, int(500 * min(1.0, scale * 10)))
    burst = max(100, int(2_000 * min(1.0, scale * 10)))
    figures = asyncio.run(measure(_sqlite_url(workdir), count, burst))
    name = "Survey webhook to Slack alert, signed HTTP on loopback (SQLite)"
    full = scale >= 1.0
    return [
        Measurement(name, "webhook-to-alert median", figures["median"] * 1000, "ms"),
        Measurement(
            name, "webhook-to-alert p99", figures["p99"] * 1000, "ms", 150.0 if full else None
        ),
        Measurement(name, "sustained: webhooks accepted", figures["accepted_per_s"], "per s"),
        Measurement(name, "sustained: alerts posted", figures["delivered_per_s"], "per s"),
        Measurement(name, "deliveries (latency, burst)", count + burst, "requests"),
    ]


def _prepare_digests(workdir: Path, scale: float) -> None:
    """The 10,000-account portfolio with the day's snapshot (health and churn risk) stored."""
    from metrics_core.churn.daily_model import RiskModels
    from metrics_core.config import Config
    from metrics_core.health.daily import take_snapshot
    from metrics_core.store.db import Database, make_engine

    _prepare_portfolio(workdir, scale)
    config = Config()
    database = Database(make_engine(_sqlite_url(workdir)))
    noon = dt.datetime.combine(AS_OF, dt.time(12), dt.UTC)
    take_snapshot(database, RiskModels(config), config, AS_OF, noon, backfill=7)
    database.close()


def _case_digests(workdir: Path, scale: float) -> list[Measurement]:
    import statistics

    from sqlalchemy import func, select

    from bot.messages.digest import build_digest
    from metrics_core.config import Config
    from metrics_core.digests.facts import digest_facts
    from metrics_core.digests.subscriptions import Scope
    from metrics_core.store.db import Database, make_engine
    from metrics_core.store.models import Account, DigestCadence, DigestScope

    config = Config()
    db = Database(make_engine(_sqlite_url(workdir)))
    now = dt.datetime.combine(AS_OF, dt.time(9), dt.UTC)
    with db.reading() as session:
        books = session.execute(
            select(Account.owner_id, func.count()).group_by(Account.owner_id)
        ).all()
        accounts = int(session.scalar(select(func.count()).select_from(Account)) or 0)
    owner, book = min(((o, n) for o, n in books if o is not None), key=lambda b: abs(b[1] - 200))

    def build(scope: Scope) -> None:
        with db.reading() as session:
            facts = digest_facts(
                session,
                cadence=DigestCadence.DAILY,
                scope=scope,
                as_of=AS_OF,
                window_end=now,
                config=config,
                now=now,
                previous=None,
            )
        build_digest(facts, config=config, now=now)

    portfolio = Scope(DigestScope.PORTFOLIO)
    one_book = Scope(DigestScope.OWNER, owner_id=owner)
    build(portfolio)  # imports and caches warm, as in the running service
    whole = _timed(lambda: build(portfolio), 5)
    mine = _timed(lambda: build(one_book), 7)
    db.close()
    name = f"digest build from the day's snapshot, {accounts:,} accounts (SQLite)"
    full = scale >= 1.0
    return [
        Measurement(
            name, "whole portfolio, median", statistics.median(whole), "s", 1.0 if full else None
        ),
        Measurement(name, "whole portfolio, slowest", max(whole), "s"),
        Measurement(
            name, f"one CSM's book ({book} accounts), median", statistics.median(mine), "s"
        ),
        Measurement(name, "peak memory", _peak_rss_mib(), "MiB"),
    ]


INGEST_BATCH = 100
"""Calls per request in the ingest case, as analytics libraries flush them."""


def _ingest_accounts(scale: float) -> list[str]:
    return [f"ACC-{n:05d}" for n in range(max(20, int(1_000 * scale)))]


def _prepare_ingest(workdir: Path, scale: float) -> None:
    """A migrated database holding the accounts whose users send the events."""
    from metrics_core.importing import import_csv
    from metrics_core.store.db import make_engine
    from metrics_core.store.migrate import upgrade

    accounts_csv = workdir / "accounts.csv"
    with accounts_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "segment", "seats", "created_on"])
        for external_id in _ingest_accounts(scale):
            writer.writerow([external_id, f"Account {external_id}", "SMB", 40, "2024-01-01"])
    engine = make_engine(_sqlite_url(workdir))
    upgrade(engine)
    import_csv(engine, "accounts", accounts_csv)
    engine.dispose()


def _case_ingest(workdir: Path, scale: float) -> list[Measurement]:
    import asyncio

    from benchmarks.ingest import measure

    events = max(2_000, int(200_000 * scale))
    accounts = _ingest_accounts(scale)
    in_flight = 16
    figures = asyncio.run(measure(_sqlite_url(workdir), accounts, events, INGEST_BATCH, in_flight))
    name = (
        f"usage events over HTTP, batches of {INGEST_BATCH}, {in_flight} in flight, "
        f"{len(accounts):,} accounts (SQLite)"
    )
    full = scale >= 1.0
    per_thousand = 1_000 / figures["events_per_s"] * 1000
    return [
        Measurement(name, "throughput", figures["events_per_s"], "events/s"),
        # The target, ≥ 20,000 events/s, as the harness states targets: a ceiling.
        Measurement(name, "time per 1,000 events", per_thousand, "ms", 50.0 if full else None),
        Measurement(name, "one batch, median", figures["median"] * 1000, "ms"),
        Measurement(name, "one batch, p99", figures["p99"] * 1000, "ms"),
        Measurement(name, "events", events, "events"),
    ]


@dataclass(frozen=True, slots=True)
class Case:
    run: Callable[[Path, float], list[Measurement]]
    prepare: Callable[[Path, float], None] | None = None


CASES: dict[str, Case] = {
    "seed": Case(_case_seed),
    "import": Case(_case_import, prepare=_prepare_usage_csv),
    "metrics": Case(_case_metrics, prepare=_prepare_portfolio),
    "slack": Case(_case_slack, prepare=_prepare_portfolio),
    "webhooks": Case(_case_webhooks, prepare=_prepare_portfolio),
    "digests": Case(_case_digests, prepare=_prepare_digests),
    "ingest": Case(_case_ingest, prepare=_prepare_ingest),
}


CHECKOUT = Path(__file__).resolve().parents[1]


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a measuring child process: this checkout importable in it.

    The harness is not installed with the package, so a child started with `-m` finds it
    only through `PYTHONPATH`.
    """
    paths = [str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def run_case(name: str, scale: float) -> list[Measurement]:
    """Prepare a case here, then measure it in a child process of its own."""
    case = CASES[name]
    with tempfile.TemporaryDirectory(prefix=f"closeloop-bench-{name}-") as tmp:
        workdir = Path(tmp)
        if case.prepare is not None:
            case.prepare(workdir, scale)
        child = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "benchmarks.harness", name, str(workdir), str(scale)],
            capture_output=True,
            text=True,
            check=False,
            env=child_environment(),
        )
    if child.returncode != 0:
        raise RuntimeError(f"benchmark {name!r} failed:\n{child.stderr}")
    return [Measurement(**row) for row in json.loads(child.stdout.splitlines()[-1])]


def _child(name: str, workdir: str, scale: str) -> None:
    measurements = CASES[name].run(Path(workdir), float(scale))
    print(json.dumps([asdict(m) for m in measurements]))


if __name__ == "__main__":
    _child(*sys.argv[1:4])
