"""Finding accounts the way people name them: external id, domain, (part of) the name, or a typo.

People type what they remember: `ACME`, `acme.example`, `acme`, or `acme crop` in a hurry.
`resolve_account` tries the strict readings first (an exact id, domain or name; then a name
that starts with or contains the text) and only then scores every account with RapidFuzz,
so a typo still finds its account while a clear exact hit never asks "did you mean".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process, utils
from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from metrics_core.store.models import Account, LifecycleStage, Segment, TeamMember

MAX_CANDIDATES = 5
"""At most this many candidates come back: a chat reply offers one button for each."""

MIN_FUZZY_LENGTH = 3
"""Shorter texts are not scored fuzzily: two letters are "similar" to half of any book."""

MATCH_FROM = 85.0
"""A fuzzy score (0–100) from which the best account may answer alone, unasked …

High on purpose: a wrong account answered silently is worse than one question. At 80,
"widget co" would answer for "Windgate Co."; "acme crop" scores 89 for "Acme Corp".
"""

CLEAR_MARGIN = 6.0
"""… if it beats the runner-up by this much: about one typo in a 15-character name."""

CANDIDATE_FROM = 75.0
"""Accounts scoring at least this are plausible enough to offer as a choice."""

SUGGEST_FROM = 65.0
"""Below this the best account is not worth a "did you mean".

Random letters (4–10 of them) against 10,000 synthetic names score 48 at the median and
60 at the 95th percentile, so 65 keeps nonsense from being answered with a guess.
"""

TOKEN_WEIGHT = 0.95
"""The same words in another order ("corp acme") is a little less sure than a typo."""

HEAD_WEIGHT = 0.9
"""Only the first words typed ("vasthavn" for "Vasthaven Software") is less sure still."""


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account as answers show it; plain data, safe to pass between threads."""

    id: int
    external_id: str
    name: str
    domain: str | None
    segment: Segment
    seats: int
    lifecycle_stage: LifecycleStage
    owner_name: str | None


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a text names: one clear `match`, several `candidates`, or only a `closest` guess.

    At most one of the three is set. `candidates` holds the best `MAX_CANDIDATES`, best
    first; `total` says how many accounts fitted as well (a reply can say "matches 40
    accounts" while offering five), and is never less than `len(candidates)`.
    """

    match: AccountRef | None
    candidates: tuple[AccountRef, ...] = ()
    closest: AccountRef | None = None
    total: int = 0

    def __post_init__(self) -> None:
        if self.total < len(self.candidates):
            object.__setattr__(self, "total", len(self.candidates))


@dataclass(frozen=True, slots=True)
class _Book:
    """The columns matching needs for every account, as parallel lists from one query.

    Plain lists rather than one object per account: building 10,000 objects costs more
    than the whole fuzzy search.
    """

    ids: list[int]
    external_ids: list[str]
    names: list[str]
    domains: list[str]  # "" where an account has none

    @classmethod
    def load(cls, session: Session) -> _Book:
        rows = (
            session.connection()
            .execute(select(Account.id, Account.external_id, Account.name, Account.domain))
            .all()
        )
        return cls(
            ids=[row[0] for row in rows],
            external_ids=[row[1] for row in rows],
            names=[row[2] for row in rows],
            domains=[row[3] or "" for row in rows],
        )


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A decision in account ids, turned into `AccountRef`s with one query at the end."""

    kind: str  # "match", "candidates", "closest" or "none"
    ids: tuple[int, ...] = ()
    total: int = 0


_NONE = _Outcome("none")


@functools.lru_cache(maxsize=1 << 16)
def _normal(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: "Shah & Costa LLP" → "shah costa llp".

    Cached because the same names are normalised on every fuzzy lookup; in Python that is
    most of the lookup's time, from a cache it is a dictionary probe. The bound (65,536
    strings, a few MB) covers the books the benchmarks target with room to spare.
    """
    return " ".join(utils.default_process(text).split())


@functools.lru_cache(maxsize=1 << 16)
def _head(text: str, words: int) -> str:
    """The first `words` words of `text`, normalised, for matching a name typed in part."""
    return " ".join(_normal(text).split()[:words])


def _refs_query(where: ColumnElement[bool]) -> Select[Account, str]:
    return (
        select(Account, TeamMember.name)
        .outerjoin(TeamMember, Account.owner_id == TeamMember.id)
        .where(where)
        .order_by(Account.name)
    )


def _ref(account: Account, owner: str | None) -> AccountRef:
    return AccountRef(
        id=account.id,
        external_id=account.external_id,
        name=account.name,
        domain=account.domain,
        segment=account.segment,
        seats=account.seats,
        lifecycle_stage=account.lifecycle_stage,
        owner_name=owner,
    )


def _refs(session: Session, where: ColumnElement[bool], limit: int) -> list[AccountRef]:
    rows = session.execute(_refs_query(where).limit(limit)).all()
    return [_ref(a, owner) for a, owner in rows]


@functools.cache
def _exact_query() -> Select[Account, str]:
    """The lookup almost every question starts with, built once with plain parameters:
    SQLAlchemy then reuses its compiled form, which costs several times the query itself."""
    return _refs_query(
        or_(
            Account.external_id == bindparam("as_typed"),
            Account.external_id == bindparam("upper"),
            Account.external_id == bindparam("lower"),
            Account.domain == bindparam("lower"),
            Account.name == bindparam("as_typed"),
        )
    ).limit(MAX_CANDIDATES + 1)


def _refs_in_order(session: Session, ids: Sequence[int]) -> list[AccountRef]:
    by_id = {ref.id: ref for ref in _refs(session, Account.id.in_(ids), len(ids))}
    return [by_id[i] for i in ids if i in by_id]


def _several(text: str, book: _Book, hits: Sequence[int]) -> _Outcome:
    """Hits of a strict reading (positions in `book`): one answers alone, several are ranked.

    Ranking by similarity puts "Oceanstone Inc." before "Oceanstone Telecom" for
    `oceanstone`: the closer the whole name is to what was typed, the likelier it is meant.
    """
    if len(hits) == 1:
        return _Outcome("match", (book.ids[hits[0]],))
    query = _normal(text)
    ranked = sorted(
        hits,
        key=lambda i: (-fuzz.ratio(query, _normal(book.names[i])), book.names[i].casefold()),
    )
    return _Outcome("candidates", tuple(book.ids[i] for i in ranked[:MAX_CANDIDATES]), len(hits))


Scores = npt.NDArray[np.float32]


def _scores(
    query: str,
    choices: list[str],
    scorer: Callable[..., float],
    processor: Callable[[str], str] | None = None,
) -> Scores:
    """One score per choice, computed in RapidFuzz's C code rather than a Python loop.

    `processor` normalises each choice in C too; it is applied to `query` as well, which is
    harmless here because `query` is already normalised.
    """
    matrix: Scores = process.cdist(
        [query], choices, scorer=scorer, processor=processor, dtype=np.float32
    )
    return matrix.reshape(-1)  # one query: the only row


def _fuzzy(text: str, book: _Book) -> _Outcome:
    """Score every account by its best field, then decide: clear winner, a few, or a guess.

    Names are compared whole (a typo anywhere: "acme crop"), with their words sorted (any
    order: "corp acme") and by their first words ("vasthavn" for "Vasthaven Software");
    domains and external ids are typed whole, so a plain edit ratio does. RapidFuzz's
    WRatio was tried and dropped: its partial and token-set parts give 85–90 to any name
    sharing one word with the text, so "shah and costa" ranked "Ahmed & Costa Associates"
    level with "Shah & Costa LLP". Each reading is one vectorised pass over the book.
    """
    query = _normal(text)
    if len(query) < MIN_FUZZY_LENGTH or not book.ids:
        return _NONE
    names = [_normal(name) for name in book.names]
    words = len(query.split())
    heads = [_head(name, words) for name in book.names]
    scores = np.maximum.reduce(
        [
            _scores(query, names, fuzz.ratio),
            _scores(query, names, fuzz.token_sort_ratio) * TOKEN_WEIGHT,
            _scores(query, heads, fuzz.ratio) * HEAD_WEIGHT,
            _scores(query, book.domains, fuzz.ratio, utils.default_process),
            _scores(query, book.external_ids, fuzz.ratio, utils.default_process),
        ]
    )
    near = np.flatnonzero(scores >= SUGGEST_FROM).tolist()
    if not near:
        return _NONE
    ranked = sorted(near, key=lambda i: (-float(scores[i]), book.names[i].casefold()))
    best = float(scores[ranked[0]])
    runner_up = float(scores[ranked[1]]) if len(ranked) > 1 else 0.0
    if best >= MATCH_FROM and best - runner_up >= CLEAR_MARGIN:
        return _Outcome("match", (book.ids[ranked[0]],))
    plausible = [i for i in ranked if scores[i] >= CANDIDATE_FROM]
    if len(plausible) > 1:
        ids = tuple(book.ids[i] for i in plausible[:MAX_CANDIDATES])
        return _Outcome("candidates", ids, len(plausible))
    return _Outcome("closest", (book.ids[ranked[0]],))


def _decide(text: str, book: _Book) -> _Outcome:
    """The strict readings in order, then fuzzy: the first that finds anything decides."""
    folded = text.casefold()
    names = [name.casefold() for name in book.names]
    exact = sorted(
        {i for i, name in enumerate(names) if name == folded}
        | {i for i, e in enumerate(book.external_ids) if e.casefold() == folded}
        | {i for i, d in enumerate(book.domains) if d.casefold() == folded}
    )
    if exact:
        return _several(text, book, exact)
    prefix = [i for i, name in enumerate(names) if name.startswith(folded)]
    if prefix:
        return _several(text, book, prefix)
    contains = [i for i, name in enumerate(names) if folded in name]
    if contains:
        return _several(text, book, contains)
    return _fuzzy(text, book)


def _resolution(session: Session, outcome: _Outcome) -> Resolution:
    refs = _refs_in_order(session, outcome.ids) if outcome.ids else []
    if not refs:
        return Resolution(match=None)
    if outcome.kind == "match":
        return Resolution(match=refs[0])
    if outcome.kind == "candidates":
        return Resolution(match=None, candidates=tuple(refs), total=outcome.total)
    return Resolution(match=None, closest=refs[0])


def resolve_account(session: Session, query: str) -> Resolution:
    """The account `query` names, the candidates it could mean, or the closest one to suggest.

    The text as typed is first looked up in the indexed columns (`ACME`, `acme.example`,
    `Acme Corp`), so the common case costs one small query and never loads the book. Only
    when that misses are all accounts' names loaded (one query) and searched: exact again
    but case-insensitive (Unicode-aware, which SQLite's `lower()` is not), then prefix,
    then contains, then fuzzy.
    """
    text = query.strip()
    if not text:
        return Resolution(match=None)
    rows = session.execute(
        _exact_query(), {"as_typed": text, "upper": text.upper(), "lower": text.lower()}
    ).all()
    indexed = [_ref(a, owner) for a, owner in rows]
    if len(indexed) == 1:
        return Resolution(match=indexed[0])
    return _resolution(session, _decide(text, _Book.load(session)))


def find_accounts(session: Session, query: str, *, limit: int = MAX_CANDIDATES) -> list[AccountRef]:
    """Accounts `query` names: one when it is clear, else the candidates; [] when none fits.

    An exact hit returns one account, so `health acme.example` never asks "did you mean".
    A mere closest guess is not a match, so it is not returned here either.
    """
    resolution = resolve_account(session, query)
    if resolution.match is not None:
        return [resolution.match]
    return list(resolution.candidates[:limit])


def account_by_external_id(session: Session, external_id: str) -> AccountRef | None:
    """The account with exactly this external id, as a button's payload names it.

    Buttons carry the external id a reply was about, so there is nothing to guess: an id
    that no longer exists is not resolved to a near namesake.
    """
    found = _refs(session, Account.external_id == external_id, 1)
    return found[0] if found else None
