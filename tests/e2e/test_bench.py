"""`closeloop bench` runs its cases in child processes and reports against the targets."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metrics_core.store.db import Database
from metrics_core.synthetic import seed_database


def _bench(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", "bench", *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    assert "Case" in result.stdout  # the table
    rows: list[dict[str, Any]] = json.loads(out.read_text())
    return rows


def test_a_small_bench_run_reports_every_case(tmp_path: Path) -> None:
    rows = _bench(tmp_path, "--scale", "0.01")
    kinds = {row["kind"] for row in rows}
    assert kinds == {
        "seed",
        "metrics",
        "snapshot",
        "digests",
        "slack",
        "webhooks",
        "ingest",
        "import",
    }
    cases = {row["case"] for row in rows}
    assert any(case.startswith("seed 100 accounts") for case in cases)
    assert any(case.startswith("import 10,000 usage rows into 100 accounts") for case in cases)
    for row in rows:
        assert row["value"] > 0 or row["unit"] == "%", row
        assert row["accounts"] == 100 and row["database"] == "SQLite"
    memory = [row for row in rows if "memory" in row["metric"]]
    assert len(memory) >= 6
    assert all(row["unit"] == "MiB" and row["value"] < 1024 for row in memory)
    # A shrunk run states no speed targets (they are for the full sizes); memory has one.
    assert {row["metric"] for row in rows if row["limit"] is not None} == {"peak memory"}


@pytest.mark.postgres
def test_the_same_cases_run_on_postgresql_in_a_schema_that_is_dropped_after(
    tmp_path: Path, postgres_server: str
) -> None:
    from sqlalchemy import create_engine, text

    rows = _bench(
        tmp_path,
        "--scale",
        "0.01",
        "--on",
        "postgresql",
        "--only",
        "metrics",
        "--only",
        "webhooks",
        env={"DATABASE_URL": postgres_server},
    )
    assert {row["kind"] for row in rows} == {"metrics", "webhooks"}
    assert {row["database"] for row in rows} == {"PostgreSQL"}
    engine = create_engine(postgres_server)
    with engine.connect() as connection:
        left = connection.scalars(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'closeloop_bench_%'")
        ).all()
    engine.dispose()
    assert left == []


def test_postgresql_without_a_postgresql_url_is_refused_plainly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", "bench", "--on", "postgresql"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DATABASE_URL": "sqlite:///x.db"},
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and "not a PostgreSQL URL" in result.stderr
    assert "Traceback" not in result.stderr


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_a_book_seeded_beforehand_is_measured_once_and_compared(tmp_path: Path) -> None:
    """A large book is seeded once and measured from a copy; its growth against an earlier
    run of another size is read from that run's results."""
    earlier = tmp_path / "earlier.json"  # what `--json` wrote for a book of 100 accounts
    training = {"metric": "churn model training", "unit": "s", "limit": None, "kind": "metrics"}
    case = "metrics on 100 accounts × 365 days (SQLite)"
    row = {"case": case, "value": 0.5, "accounts": 100, "database": "SQLite", **training}
    earlier.write_text(json.dumps([row]))
    url = f"sqlite:///{tmp_path / 'book.db'}"
    seeded = _cli(
        "seed", "--accounts", "300", "--days", "365", "--seed", "7", "--as-of", "2026-11-20",
        env={"DATABASE_URL": url},
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    out = tmp_path / "book.json"
    measured = _cli(
        "bench", "--book", url, "--scale", "0.01", "--only", "seed", "--only", "metrics",
        "--only", "snapshot", "--compare", str(earlier), "--json", str(out),
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert measured.returncode == 0, measured.stderr
    rows = json.loads(out.read_text())
    # Counted, not told; and not seeded again, so there is no seed figure.
    assert {row["accounts"] for row in rows} == {300}
    assert {row["kind"] for row in rows} == {"metrics", "snapshot"}
    growth = measured.stdout[measured.stdout.rindex("Case") :]  # the second table
    assert "100 accounts" in growth and "300 accounts" in growth
    assert "churn model training" in growth and "for ×3 accounts" in growth
    # The snapshot case stored snapshots: the book is no longer as seeded.
    again = _cli("bench", "--book", url, "--scale", "0.01", "--only", "metrics")
    assert again.returncode != 0
    assert "freshly seeded" in again.stderr and "Traceback" not in again.stderr


def test_a_book_that_cannot_be_read_is_named_without_its_password() -> None:
    url = "postgresql+psycopg://bench:s3cret-word@127.0.0.1:1/nowhere"
    result = _cli("bench", "--book", url, "--only", "metrics")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot be read as a Closeloop database" in result.stderr
    assert "s3cret-word" not in result.stderr + result.stdout
    assert "bench:***@127.0.0.1:1/nowhere" in result.stderr


def test_a_training_sample_is_compared_with_the_whole_book(sqlite_db: Database) -> None:
    seed_database(sqlite_db.engine, accounts=400, days=365, seed=7, as_of=dt.date(2026, 11, 20))
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.training_sample", url, "200"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| trained on | rows | churned accounts | ROC AUC")
    whole, sample = (row.split(" | ") for row in rows[1:])
    assert whole[0] == "| all accounts" and sample[0] == "| a sample of 200"
    # The sample trains on fewer rows; both are scored on the same held-out rows.
    assert int(sample[1].replace(",", "")) < int(whole[1].replace(",", ""))
    assert 0.5 < float(whole[3]) <= 1 and 0 < float(sample[3]) <= 1
