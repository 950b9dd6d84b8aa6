"""Fitting a rendered reply into a platform's limits: one way, for every renderer.

A platform refuses a whole message that breaks any one of its limits (Slack: 50 blocks
and about 12,000 characters of text; Teams: 80 KB advised), so renderers never hope a reply
fits. A renderer cuts its rendering into `Piece`s (a block, a few card elements) that
stay or go together, says how important each is and how much room it takes, and `fit`
keeps what fits the platform's `Limits`:

- Everything, when everything fits.
- Otherwise the essential pieces (what the answer is about and its buttons) and room for a
  note saying that something was left out; then the other pieces, most important first
  and in reading order, each whole, or shortened when it knows how, or not at all.

The note is the renderer's to place (before its buttons); the renderer also decides what
to give up when even the essential pieces do not fit (the last buttons, the last replies
of a Home tab), which `fit` reports by returning None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

T = TypeVar("T")

ESSENTIAL: Final = 0
"""The rank of a piece that is always kept; a higher rank is given up sooner."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one message may hold on a platform; None where the platform sets no limit.

    Sizes are in the unit the renderer measures its pieces in (characters of text for
    Slack, bytes of JSON for Teams).
    """

    max_blocks: int | None = None
    """Top-level blocks or elements; the essential pieces and the note must fit."""
    max_size: int | None = None
    """The size the whole message must stay within; the essential pieces and the note
    must fit."""
    size_budget: int | None = None
    """A size that only the pieces that are not essential are held to: a limit that is not
    exactly known (Slack's total text), for which the heading and buttons are never given
    up."""
    max_table_rows: int | None = None
    """Rows of one table shown before the rest are counted ("… 12 more rows")."""


@dataclass(frozen=True, slots=True)
class Piece(Generic[T]):
    """Rendered content that stays or goes as one, and the room it takes."""

    content: tuple[T, ...]
    """The blocks or elements, in reading order; each counts against `max_blocks`."""
    size: int
    rank: int = ESSENTIAL
    shrink: Callable[[int], Piece[T] | None] | None = None
    """A shorter version within the size given, or None when nothing useful fits."""


@dataclass(frozen=True, slots=True)
class Fitted(Generic[T]):
    """What `fit` kept, in reading order; `cut` when something was left out."""

    content: tuple[T, ...]
    cut: bool


def table_rows(rows: int, limits: Limits) -> int:
    """How many of a table's `rows` a platform shows before counting the rest."""
    return rows if limits.max_table_rows is None else min(rows, limits.max_table_rows)


def fit(
    pieces: Sequence[Piece[T]],
    limits: Limits,
    *,
    note: Piece[T],
    overhead: int = 0,
    left_out: bool = False,
    cut_off: bool = False,
) -> Fitted[T] | None:
    """The pieces that fit `limits`, in reading order; None if the essential ones do not.

    `note` is the note that says something was left out: room is kept for it whenever
    anything is. `overhead` is size taken by what is not a piece (a card's envelope).
    `left_out` says the caller has already left something out, so the note is due even if
    every piece fits. With `cut_off`, the first piece of a rank that does not fit ends
    that rank: a long answer is cut at one point, never shown with holes.
    """
    blocks = sum(len(piece.content) for piece in pieces)
    size = overhead + sum(piece.size for piece in pieces)
    if not left_out and _within(limits, blocks, size):
        return Fitted(tuple(item for piece in pieces for item in piece.content), cut=False)

    essential = [piece for piece in pieces if piece.rank == ESSENTIAL]
    blocks = len(note.content) + sum(len(piece.content) for piece in essential)
    size = overhead + note.size + sum(piece.size for piece in essential)
    if not _within(limits, blocks, size, essential=True):
        return None
    kept = {i: piece for i, piece in enumerate(pieces) if piece.rank == ESSENTIAL}
    ended: set[int] = set()
    for rank, i in sorted((p.rank, i) for i, p in enumerate(pieces) if p.rank != ESSENTIAL):
        if rank in ended:
            continue
        whole = pieces[i]
        piece: Piece[T] | None = whole
        if not _within(limits, blocks + len(whole.content), size + whole.size):
            piece = whole.shrink(_room(limits, size)) if whole.shrink else None
        if (
            piece is None
            or not piece.content
            or not _within(limits, blocks + len(piece.content), size + piece.size)
        ):
            if cut_off:
                ended.add(rank)
            continue
        kept[i] = piece
        blocks, size = blocks + len(piece.content), size + piece.size
    return Fitted(tuple(item for i in sorted(kept) for item in kept[i].content), cut=True)


def _within(limits: Limits, blocks: int, size: int, *, essential: bool = False) -> bool:
    """Whether `blocks` and `size` keep to the limits (the budget only binds the pieces
    that are not `essential`)."""
    if limits.max_blocks is not None and blocks > limits.max_blocks:
        return False
    if limits.max_size is not None and size > limits.max_size:
        return False
    return essential or limits.size_budget is None or size <= limits.size_budget


def _room(limits: Limits, size: int) -> int:
    """The size left for one more piece."""
    caps = [cap for cap in (limits.max_size, limits.size_budget) if cap is not None]
    return min(caps) - size if caps else 0
