"""ARR movements and renewals derived from an account's contract terms.

CRMs export contracts, not movements, so movements are a function of the contracts:
the first term is new business, each following term expands or contracts by the change
in ARR, and a term marked as not renewed churns its ARR on its end date. The seed
generator and the CSV importer both go through `account_history`, so NRR and GRR read
the same movements whichever way the data arrived.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from metrics_core.store.models import ArrMovementKind, RenewalStatus


@dataclass(frozen=True, slots=True)
class Term:
    """One contract term of one account."""

    key: Hashable
    start: dt.date
    end: dt.date
    arr: float
    churned: bool = False


@dataclass(frozen=True, slots=True)
class Movement:
    term_key: Hashable
    kind: ArrMovementKind
    amount: float
    effective_on: dt.date


@dataclass(frozen=True, slots=True)
class RenewalFact:
    term_key: Hashable
    renewal_date: dt.date
    arr: float
    status: RenewalStatus


def account_history(terms: Iterable[Term]) -> tuple[list[Movement], list[RenewalFact]]:
    """Movements and renewals for one account's terms (in any order)."""
    ordered = sorted(terms, key=lambda t: (t.start, t.end))
    movements: list[Movement] = []
    renewals: list[RenewalFact] = []
    previous: Term | None = None
    for index, term in enumerate(ordered):
        if previous is None or previous.churned:
            movements.append(Movement(term.key, ArrMovementKind.NEW, term.arr, term.start))
        elif term.arr != previous.arr:
            kind = (
                ArrMovementKind.EXPANSION
                if term.arr > previous.arr
                else ArrMovementKind.CONTRACTION
            )
            movements.append(Movement(term.key, kind, abs(term.arr - previous.arr), term.start))
        has_successor = index + 1 < len(ordered)
        if term.churned:
            status = RenewalStatus.CHURNED
            movements.append(Movement(term.key, ArrMovementKind.CHURN, term.arr, term.end))
        elif has_successor:
            status = RenewalStatus.RENEWED
        else:
            status = RenewalStatus.UPCOMING
        renewals.append(RenewalFact(term.key, term.end, term.arr, status))
        previous = term
    return movements, renewals
