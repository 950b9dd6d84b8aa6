"""Fitting a rendered reply into a platform's limits, and the text helpers renderers share.

The renderers' own tests show it per platform (Slack's 50 blocks, a Teams card's size);
these hold the one fitter to what every surface relies on: the heading and buttons stay,
what is left out is said, and an answer is cut at one point, never shown with holes.
"""

from __future__ import annotations

from adapters.platforms.limits import ESSENTIAL, Limits, Piece, fit, table_rows
from adapters.platforms.text import chunked, clip, one_line, trend_arrow
from bot.reply import Trend

NOTE = Piece(("some details were left out",), size=3)


def piece(text: str, rank: int = 1) -> Piece[str]:
    """A piece of one block whose size is its length."""
    return Piece((text,), size=len(text), rank=rank)


HEADING, BUTTONS = piece("Acme", ESSENTIAL), piece("[Refresh]", ESSENTIAL)


def test_a_reply_that_fits_is_kept_whole_without_a_note() -> None:
    pieces = [HEADING, piece("a"), piece("b"), BUTTONS]
    fitted = fit(pieces, Limits(max_blocks=4), note=NOTE)
    assert fitted is not None
    assert fitted.content == ("Acme", "a", "b", "[Refresh]") and not fitted.cut


def test_too_many_blocks_keep_the_heading_the_buttons_and_room_for_the_note() -> None:
    pieces = [HEADING, *(piece(f"paragraph {i}") for i in range(10)), BUTTONS]
    fitted = fit(pieces, Limits(max_blocks=5), note=NOTE)
    assert fitted is not None and fitted.cut
    assert fitted.content == ("Acme", "paragraph 0", "paragraph 1", "[Refresh]")


def test_when_even_the_essentials_do_not_fit_the_renderer_is_told() -> None:
    pieces = [HEADING, piece("a"), BUTTONS]
    assert fit(pieces, Limits(max_blocks=2), note=NOTE) is None
    assert fit(pieces, Limits(max_size=10), note=NOTE) is None


def test_a_size_budget_never_costs_the_heading_or_the_buttons() -> None:
    """A limit not exactly known (Slack's total text) only holds back the details."""
    pieces = [HEADING, piece("details"), BUTTONS]
    fitted = fit(pieces, Limits(size_budget=10), note=NOTE)
    assert fitted is not None and fitted.content == ("Acme", "[Refresh]")


def test_a_cut_off_answer_has_no_holes() -> None:
    """A long paragraph that does not fit is not followed by a short one that would."""
    pieces = [HEADING, piece("short"), piece("x" * 50), piece("tail"), BUTTONS]
    limits = Limits(max_size=40)
    cut = fit(pieces, limits, note=NOTE, cut_off=True)
    assert cut is not None and cut.content == ("Acme", "short", "[Refresh]")
    filled = fit(pieces, limits, note=NOTE)
    assert filled is not None and filled.content == ("Acme", "short", "tail", "[Refresh]")


def test_the_most_important_parts_are_kept_first_and_shown_in_reading_order() -> None:
    notes, facts = piece("n" * 12, rank=3), piece("f" * 12, rank=2)
    fitted = fit([HEADING, notes, facts, BUTTONS], Limits(max_size=36), note=NOTE)
    assert fitted is not None and fitted.content == ("Acme", "f" * 12, "[Refresh]")


def test_a_part_too_long_is_shortened_to_the_room_left() -> None:
    def shorter(room: int) -> Piece[str] | None:
        return piece("x" * room) if room > 0 else None

    long = Piece(("x" * 100,), size=100, rank=1, shrink=shorter)
    fitted = fit([HEADING, long, BUTTONS], Limits(max_size=30), note=NOTE)
    assert fitted is not None and fitted.content == ("Acme", "x" * 14, "[Refresh]")


def test_something_left_out_before_is_still_said() -> None:
    fitted = fit([HEADING, BUTTONS], Limits(max_blocks=50), note=NOTE, left_out=True)
    assert fitted is not None and fitted.cut


def test_a_platform_without_a_row_limit_shows_every_row() -> None:
    assert table_rows(500, Limits(max_table_rows=25)) == 25
    assert table_rows(10, Limits(max_table_rows=25)) == 10
    assert table_rows(500, Limits()) == 500


def test_text_helpers() -> None:
    assert one_line(" Acme\n  Corp\t ") == "Acme Corp"
    assert clip("Acme Corp", 9) == "Acme Corp"
    assert clip("Acme Corporation", 6) == "Acme…"
    # A cut that must not split `&amp;` moves back before it.
    assert clip("a &amp; b", 6, safe_cut=lambda text, cut: text.rfind("&", 0, cut + 1)) == "a…"
    assert [list(run) for run in chunked([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert (trend_arrow(Trend.UP), trend_arrow(Trend.DOWN), trend_arrow(None)) == ("↗", "↘", "")
