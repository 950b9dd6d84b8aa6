"""Writers for the SQLite contention test, run as a process of their own.

    python -m tests.integration.sqlite_writers DATABASE_URL SECONDS KIND=N [KIND=N ...]

Each writer is a thread with an engine (and so connections) of its own, doing what a
real writer does through the functions the service and the CLI call: `intake` stores
survey answers as the webhook does, `claim` claims and closes follow-ups as the buttons
do, `import` imports a usage CSV as `closeloop import usage` does (one transaction that
holds the write lock for the whole file). The process prints `ready` once set up, waits
for a line on stdin, writes for SECONDS, and prints one JSON line per writer: how many
units of work it did and every error it met, as its user would have seen it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import select

from metrics_core.accounts.team import member_by_chat_id
from metrics_core.config import Config
from metrics_core.delivery.targets import Target
from metrics_core.followups import work as followups
from metrics_core.followups.intake import record_answer
from metrics_core.importing import ImportFailed, import_csv
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Account, FollowUp, FollowUpStatus, SurveyKind
from metrics_core.surveys.answers import SurveyAnswer

CSMS = [f"U0CSM{i}" for i in range(1, 9)]
CONFIG = Config()


def _intake(db: Database, name: str, rng: random.Random, n: int) -> None:
    with db.reading() as session:
        accounts = list(session.scalars(select(Account.external_id)))
    answer = SurveyAnswer(
        provider="contention",
        response_id=f"{name}-{n}",
        kind=SurveyKind.NPS,
        score=rng.randint(0, 10),
        submitted_at=dt.datetime.now(dt.UTC),
        comment=f"Answer {n} from {name}",
        respondent_email="someone@example.com",
        account_external_id=rng.choice(accounts),
    )
    now = dt.datetime.now(dt.UTC)
    with db.writing() as session:
        record_answer(session, answer, config=CONFIG, fallback=Target("slack", "C0ALERTS"), now=now)


def _claim(db: Database, name: str, rng: random.Random, n: int) -> None:
    with db.reading() as session:
        waiting = list(
            session.scalars(
                select(FollowUp.id).where(FollowUp.status != FollowUpStatus.CLOSED).limit(50)
            )
        )
    if not waiting:
        return
    follow_up = rng.choice(waiting)
    now = dt.datetime.now(dt.UTC)
    with db.writing() as session:
        member = member_by_chat_id(session, platform="slack", user_id=rng.choice(CSMS))
        assert member is not None
        if n % 3:
            followups.claim(session, follow_up, member, now)
        else:
            followups.close(
                session,
                follow_up,
                member,
                outcome="contacted",
                note=f"closed by {name}",
                allowed_outcomes=CONFIG.follow_ups.outcomes,
                now=now,
            )


def _usage_file(db: Database, folder: Path) -> Callable[[random.Random, int], Path]:
    with db.reading() as session:
        accounts = list(session.scalars(select(Account.external_id)))
    today = dt.datetime.now(dt.UTC).date()

    def write(rng: random.Random, n: int) -> Path:
        path = folder / f"usage-{n}.csv"
        lines = ["account_external_id,date,active_users,sessions"]
        for account in accounts:
            for back in range(14):
                day = today - dt.timedelta(days=back + 1)
                lines.append(f"{account},{day},{rng.randint(1, 50)},{rng.randint(1, 200)}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


def _writer(
    url: str, kind: str, name: str, ready: threading.Barrier, go: threading.Event, seconds: float
) -> dict[str, object]:
    rng = random.Random(name)
    db = Database(make_engine(url))
    done = 0
    errors: list[str] = []
    with TemporaryDirectory() as folder:
        usage_file = _usage_file(db, Path(folder)) if kind == "import" else None
        ready.wait()
        go.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if kind == "intake":
                    _intake(db, name, rng, done)
                elif kind == "claim":
                    _claim(db, name, rng, done)
                else:
                    assert usage_file is not None
                    import_csv(db.engine, "usage", usage_file(rng, done))
                done += 1
            except ImportFailed as failure:  # what `closeloop import` prints
                errors.append(failure.summary())
            except Exception as error:  # what the caller would have been shown
                errors.append(f"{type(error).__name__}: {error}")
    db.close()
    return {"writer": name, "kind": kind, "done": done, "errors": errors}


def main(url: str, seconds: str, *kinds: str) -> None:
    writers = [
        (kind, f"{kind}-{i}-{time.monotonic_ns()}")
        for kind, _, count in (spec.partition("=") for spec in kinds)
        for i in range(int(count))
    ]
    ready = threading.Barrier(len(writers) + 1)
    go = threading.Event()
    results: list[dict[str, object]] = []

    def run(kind: str, name: str) -> None:
        results.append(_writer(url, kind, name, ready, go, float(seconds)))

    threads = [threading.Thread(target=run, args=writer) for writer in writers]
    for thread in threads:
        thread.start()
    ready.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    go.set()
    for thread in threads:
        thread.join()
    for result in results:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
