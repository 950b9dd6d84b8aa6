"""Does a sample of a large book's accounts train as good a churn model as all of them?

`python -m benchmarks.training_sample URL [ACCOUNTS ...]` reads the whole training set of
the book at URL once (every account, every cut-off), splits it in time as the model's own
calibration does (cut-offs before the newest third train, the newest third is held out),
and trains on all the accounts and on fixed samples of `ACCOUNTS` of them (the service's
`churn.risk.Sample`). Every model is scored on the same held-out rows of all the accounts,
so the figures differ only by what each model learned. Prints a Markdown table: rows and
churned accounts trained on, ROC AUC, log loss, mean predicted against the observed rate,
and how far each account's probability moved from the all-accounts model's.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.churn.evaluation import roc_auc
from metrics_core.churn.risk import (
    TRAINING_ACCOUNTS,
    Sample,
    TrainingSet,
    fit_risk_model,
    history_start,
    training_set,
)
from metrics_core.config import Config
from metrics_core.store.db import make_engine
from metrics_core.store.models import Account

AS_OF = dt.date(2026, 11, 20)
"""The last day of the books `closeloop bench` and its documented seeds make."""


def _row(
    name: str, part: TrainingSet, test: TrainingSet, config: Config, reference: NDArray[np.float64]
) -> tuple[str, NDArray[np.float64]]:
    model = fit_risk_model(part, config)
    p, _ = model.score(test.X)
    y = test.y.to_numpy()
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    moved = np.abs(p - reference) if len(reference) else np.zeros(len(p))
    line = (
        f"| {name} | {len(part.y):,} | {part.churned_accounts:,} | {roc_auc(y, p):.4f} | "
        f"{log_loss:.4f} | {p.mean():.1%} vs {y.mean():.1%} | "
        f"{np.mean(moved) * 100:.2f} pts | {np.percentile(moved, 99) * 100:.1f} pts |"
    )
    return line, p


def main(url: str, sizes: list[int]) -> None:
    config = Config()
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            start = history_start(session)
            if start is None:
                raise SystemExit("the book has no usage history: nothing to train on")
            accounts = int(session.scalar(select(func.count()).select_from(Account)) or 0)
            began = time.perf_counter()
            whole = training_set(session, AS_OF, config, start, at_most=accounts)
            read = time.perf_counter() - began
    finally:
        engine.dispose()
    cuts = sorted(set(whole.cuts))
    split = cuts[len(cuts) * 2 // 3]
    train = whole.known_at(split)
    test = whole.where((whole.cuts >= split).to_numpy())
    print(
        f"{accounts:,} accounts: {len(whole.y):,} labelled rows read in {read:.0f} s; "
        f"trained on renewals decided by {split}, scored on the {len(test.y):,} rows of the "
        f"cut-offs from {split} ({int(test.y.sum()):,} churned).\n"
    )
    print(
        "| trained on | rows | churned accounts | ROC AUC | log loss | mean predicted vs "
        "observed | mean change per account | 99th percentile |"
    )
    print("|---|---|---|---|---|---|---|---|")
    line, reference = _row("all accounts", train, test, config, np.zeros(0))
    print(line.replace("| 0.00 pts | 0.0 pts |", "| — | — |"))
    for size in sizes:
        sample = Sample.of(accounts, size)
        if sample is None:
            continue
        part = train.where(sample.holds(train.X.index.to_numpy(np.int64)))
        print(_row(f"a sample of {size:,}", part, test, config, reference)[0])


if __name__ == "__main__":
    main(sys.argv[1], [int(n) for n in sys.argv[2:]] or [TRAINING_ACCOUNTS])
