"""Deterministic synthetic customer data behind `closeloop seed` and `closeloop demo`.

One seed gives one data set: the same accounts, contracts, usage, tickets, surveys and
touches on SQLite and PostgreSQL alike, so demos, docs, benchmarks and tests can all
point at the same story (Acme Corp, renewing soon, usage dipping, a fresh detractor).
"""

from metrics_core.synthetic.seed import DatabaseNotEmpty, SeedSummary, seed_database

__all__ = ["DatabaseNotEmpty", "SeedSummary", "seed_database"]
