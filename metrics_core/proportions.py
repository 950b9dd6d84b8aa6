"""Rates and differences of rates, defined once for every report that shows them.

Every rate the product shows carries its count ("4 of 10", never "40 %" alone) and a 95 %
interval that keeps its promise at the tens of renewals, runs or answers a CS team has:
it covers the true rate about 95 % of the time there, not only at hundreds. A health
band's churn rate (`health validity`), the share of promoters who expanded (`nps
insights`) and the share of finished playbook runs whose usage recovered (`playbooks
stats`) are the same kind of number, so they are built, shown and compared the same way:

- `Rate`: `events` of `n`, with the Agresti–Coull interval (`agresti_coull_interval`) once
  `n` reaches `MIN_N_FOR_INTERVAL`. Agresti–Coull rather than Wilson because many of these
  rates sit near an edge (a green band churning 2 %), where Wilson's coverage dips
  (`metrics_core.surveys.scores` gives the numbers); CSAT uses it for the same reason.
- `difference(first, second)`: first − second, with Newcombe's hybrid score interval
  (`newcombe_difference_interval`: method 10 of Newcombe 1998, "Interval estimation for
  the difference between independent proportions: comparison of eleven methods",
  Statistics in Medicine 17(8): 873–890). It never leaves [−1, 1], and it is published
  with worked examples (Table II) that the tests hold it to. Computed exactly, by summing
  over every pair of outcomes, for groups of 10–40 and rates of 2–60 %, its coverage
  averages 0.96 and never falls below 0.93; the plain Wald difference averages 0.92 and
  falls to 0.40 when a rate is near 0.

The rates' own intervals (Agresti–Coull) and the difference's (built on Wilson's score
limits, as Newcombe defines it) are each the one whose coverage holds for what it
answers: one rate near the edge, or the gap between two.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics_core.surveys.scores import agresti_coull_interval, newcombe_difference_interval

__all__ = ["MIN_N_FOR_INTERVAL", "Difference", "Rate", "difference"]

MIN_N_FOR_INTERVAL = 5
"""Fewer than this many get a rate but no interval, and two rates no difference: at n = 4
an interval spans most of 0–100 % (3 of 4 gives 29–97 %) and says nothing; from 5 its
coverage holds (the CSAT minimum, `metrics_core.surveys.scores.CSAT_MIN_N`, for the
same reason)."""


@dataclass(frozen=True, slots=True)
class Rate:
    """`events` of `n`, with a 95 % interval (fractions) from `MIN_N_FOR_INTERVAL` on.

    Build it with `Rate.of`, which computes the interval; the counts are checked either way.
    """

    events: int
    n: int
    ci_low: float | None = None
    ci_high: float | None = None

    def __post_init__(self) -> None:
        if self.n < 0 or not 0 <= self.events <= self.n:
            raise ValueError(f"need 0 <= events <= n, got {self.events} of {self.n}")

    @classmethod
    def of(cls, events: int, n: int) -> Rate:
        """`events` of `n` with its Agresti–Coull interval when `n` is large enough."""
        counted = cls(events, n)  # refuses impossible counts before any arithmetic
        if n < MIN_N_FOR_INTERVAL:
            return counted
        low, high = agresti_coull_interval(events, n)
        return cls(events, n, low, high)

    @property
    def share(self) -> float | None:
        """The rate as a fraction; None when there is nothing to divide by."""
        return self.events / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class Difference:
    """How much higher one rate is than another, in fractions, with its 95 % interval."""

    estimate: float
    ci_low: float
    ci_high: float

    @property
    def clear(self) -> bool:
        """Whether the interval leaves out "no difference"."""
        return self.ci_low > 0 or self.ci_high < 0


def difference(first: Rate, second: Rate) -> Difference | None:
    """`first` − `second` with Newcombe's hybrid score interval (module docstring).

    None when either rate has fewer than `MIN_N_FOR_INTERVAL` in it: neither would have an
    interval of its own, and the gap between them would span most of ±100 points.
    Reports that need more before they call a difference clear ask for more themselves.
    """
    if min(first.n, second.n) < MIN_N_FOR_INTERVAL:
        return None
    low, high = newcombe_difference_interval(first.events, first.n, second.events, second.n)
    estimate = first.events / first.n - second.events / second.n
    return Difference(estimate, low, high)
