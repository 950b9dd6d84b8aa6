"""`closeloop demo` (what `make run` runs): a few answers printed, then the playground served.

On a database that already holds accounts it loads nothing more, fills the health history
a chart needs, and serves the playground on loopback until stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Account, HealthSnapshot
from tests.fakes.slack_api import _free_port


def test_demo_prints_answers_and_serves_the_playground(database_file: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{database_file}"
    db = Database(make_engine(url))
    with db.reading() as session:
        accounts = session.scalar(select(func.count()).select_from(Account))
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adapters.entrypoints.cli",
            "demo",
            "--no-browser",
            "--port",
            str(port),
        ],
        env={**os.environ, "DATABASE_URL": url, "CLOSELOOP_LOG_FORMAT": "text"},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    page = answer.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert "Closeloop" in page, "the playground did not answer"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Acme Corp" in output and "Health score" in output  # `health acme`, printed
    assert f"http://127.0.0.1:{port}/" in output  # where to look
    assert "Traceback" not in output
    with db.reading() as session:
        # The demo loaded nothing over the accounts that were there…
        assert session.scalar(select(func.count()).select_from(Account)) == accounts
        # …and kept 90 days of health history for the charts.
        days = session.scalar(select(func.count(func.distinct(HealthSnapshot.day))))
    assert days is not None and days >= 90
    db.close()
