"""The bench's growth table reads how a figure grows with the book, as a reader would."""

from __future__ import annotations

from benchmarks.harness import Measurement, growth


def _m(kind: str, metric: str, accounts: int, value: float, unit: str = "s") -> Measurement:
    return Measurement(f"{kind} case", metric, value, unit, kind=kind, accounts=accounts)


def test_growth_names_linear_flat_and_worse_than_linear_figures() -> None:
    results = [
        _m("seed", "wall time", 1_000, 5.0),
        _m("seed", "wall time", 100_000, 480.0),
        _m("slack", "p99", 1_000, 10.0, "ms"),
        _m("slack", "p99", 100_000, 11.0, "ms"),
        _m("digests", "whole", 1_000, 0.01),
        _m("digests", "whole", 100_000, 50.0),
        _m("slack", "requests per app", 1_000, 500, "requests"),
        _m("slack", "requests per app", 100_000, 500, "requests"),
    ]
    rows = {
        (case, metric): (values, verdict) for case, metric, _, values, verdict in growth(results)
    }
    assert rows[("seed (SQLite)", "wall time")] == (
        [5.0, 480.0],
        "linear (×96.0 for ×100 accounts)",
    )
    assert rows[("slack (SQLite)", "p99")][1].startswith("flat")
    assert rows[("digests (SQLite)", "whole")][1].startswith("worse than linear")
    assert ("slack (SQLite)", "requests per app") not in rows  # an input, not a result


def test_a_figure_missing_at_one_size_shows_a_gap_and_no_verdict_from_one_point() -> None:
    results = [_m("metrics", "training", 1_000, 2.0), _m("seed", "wall time", 10_000, 30.0)]
    rows = {
        (case, metric): (values, verdict) for case, metric, _, values, verdict in growth(results)
    }
    assert rows[("metrics (SQLite)", "training")] == ([2.0, None], "")
