"""The fixed sample a large book's churn model learns from."""

from __future__ import annotations

import numpy as np

from metrics_core.churn.risk import Sample


def test_a_book_the_model_can_learn_from_whole_is_not_sampled() -> None:
    assert Sample.of(20_000, 20_000) is None
    assert Sample.of(500, 20_000) is None


def test_the_sample_holds_its_share_of_consecutive_and_scattered_ids() -> None:
    sample = Sample.of(100_000, 20_000)
    assert sample is not None and sample.share == 0.2
    consecutive = np.arange(1, 100_001, dtype=np.int64)
    assert abs(sample.holds(consecutive).sum() - 20_000) < 200
    # Every stretch of ids is represented, not one block of them.
    per_thousand = sample.holds(consecutive).reshape(100, 1_000).sum(axis=1)
    assert per_thousand.min() > 150 and per_thousand.max() < 250
    scattered = np.random.default_rng(3).choice(10**9, 100_000, replace=False)
    assert abs(sample.holds(scattered).mean() - 0.2) < 0.005


def test_the_sample_is_the_same_every_day_and_a_growing_book_keeps_part_of_it() -> None:
    ids = np.arange(1, 200_001, dtype=np.int64)
    today = Sample(100_000, 0.2).holds(ids)
    assert np.array_equal(today, Sample(100_000, 0.2).holds(ids))
    grown = Sample(200_000, 0.1).holds(ids)
    assert not (grown & ~today).any()  # a smaller share keeps only accounts kept before
