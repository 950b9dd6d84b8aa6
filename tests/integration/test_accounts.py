"""Naming an account the way people do: exactly, in part, misspelt, or ambiguously.

Each test runs on SQLite and PostgreSQL, since the exact lookup is SQL and the two
databases differ in case handling; the rest is RapidFuzz over names loaded in one query.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

import pytest
from sqlalchemy import insert

from bot.account_choice import MAX_LABEL
from bot.account_choice import resolve_account as resolve_for_chat
from bot.reply import Reply
from metrics_core.accounts import lookup as accounts
from metrics_core.accounts.lookup import AccountRef, Resolution, find_accounts, resolve_account
from metrics_core.store.db import Database
from metrics_core.store.models import Account, LifecycleStage, Segment
from tests import factories as f
from tests.routing import context_for

BOOK = [
    ("ACME", "Acme Corp", "acme.example"),
    ("GLOBEX-1", "Globex Industries", "globex-industries.example"),
    ("GLOBEX-2", "Globex Retail", "globexretail.example"),
    ("INI", "Initech", "initech.example"),
    ("UMB", "Umbrella Health", "umbrella.example"),
    ("CLB", "Clearbend Ltd.", "clearbend.example"),
    ("CDB", "Cedarbend Ltd.", "cedarbend.example"),
]


@pytest.fixture
def book(db: Database) -> Database:
    with db.writing() as session:
        for external_id, name, domain in BOOK:
            f.account(session, external_id, name, domain=domain)
    return db


def resolve(db: Database, query: str) -> Resolution:
    with db.reading() as session:
        return resolve_account(session, query)


def matched(db: Database, query: str) -> str | None:
    found = resolve(db, query).match
    return found.name if found else None


def names(refs: tuple[AccountRef, ...]) -> list[str]:
    return [ref.name for ref in refs]


# --- exact, prefix, contains: the strict readings -----------------------------------------


@pytest.mark.parametrize(
    "query",
    ["ACME", "acme", "acme.example", "ACME.EXAMPLE", "Acme Corp", "acme corp", "  ACME  "],
)
def test_an_exact_id_domain_or_name_answers_alone(book: Database, query: str) -> None:
    resolution = resolve(book, query)
    assert resolution.match is not None
    assert resolution.match.external_id == "ACME"
    assert (resolution.candidates, resolution.closest) == ((), None)


def test_an_exact_name_wins_over_names_it_starts(book: Database) -> None:
    with book.writing() as session:
        f.account(session, "GLOBEX", "Globex", domain=None)
    assert matched(book, "globex") == "Globex"


def test_exact_names_are_matched_without_regard_to_unicode_case(book: Database) -> None:
    # SQLite's lower() only folds ASCII; the second, Python-side pass folds the rest.
    with book.writing() as session:
        f.account(session, "AEV", "Ärzteverbund Süd", domain=None)
    assert matched(book, "ÄRZTEVERBUND SÜD") == "Ärzteverbund Süd"


@pytest.mark.parametrize(
    ("query", "name"),
    [("umbr", "Umbrella Health"), ("INIT", "Initech"), ("health", "Umbrella Health")],
)
def test_the_start_or_a_part_of_one_name_is_enough(book: Database, query: str, name: str) -> None:
    assert matched(book, query) == name


def test_a_prefix_shared_by_two_accounts_offers_both_closest_first(book: Database) -> None:
    resolution = resolve(book, "Globex")
    assert resolution.match is None
    # "Globex Retail" is the shorter name, so the closer one to what was typed.
    assert names(resolution.candidates) == ["Globex Retail", "Globex Industries"]
    assert resolution.total == 2


def test_only_one_close_name_answers_alone_even_with_near_misses(db: Database) -> None:
    with db.writing() as session:
        f.account(session, "GLOBEX-1", "Globex Industries", domain=None)
        f.account(session, "GLOBE", "Globe Retail", domain=None)
        f.account(session, "GLOB", "Global Freight", domain=None)
    assert matched(db, "globex") == "Globex Industries"


# --- fuzzy: typos and partial words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("acme crop", "Acme Corp"),
        ("acmecorp", "Acme Corp"),
        ("corp acme", "Acme Corp"),
        ("umbrela helth", "Umbrella Health"),
        ("initech.exmaple", "Initech"),  # a misspelt domain
        ("clearbnd ltd", "Clearbend Ltd."),  # 96 against "Cedarbend Ltd." at 88
    ],
)
def test_a_typo_that_clearly_beats_the_runner_up_answers_alone(
    book: Database, query: str, name: str
) -> None:
    assert matched(book, query) == name


def test_a_typo_as_close_to_two_accounts_offers_both(book: Database) -> None:
    resolution = resolve(book, "globx")
    assert resolution.match is None
    assert sorted(names(resolution.candidates)) == ["Globex Industries", "Globex Retail"]


def test_a_weak_resemblance_is_only_suggested(book: Database) -> None:
    # "initek" scores 77 against "Initech": similar, but not enough to answer for it.
    resolution = resolve(book, "initek")
    assert (resolution.match, resolution.candidates) == (None, ())
    assert resolution.closest is not None
    assert resolution.closest.name == "Initech"


@pytest.mark.parametrize("query", ["zzzz", "qwerty", "blah blah", "xy", ""])
def test_nothing_alike_suggests_nothing(book: Database, query: str) -> None:
    assert resolve(book, query) == Resolution(match=None)


def test_a_suggestion_needs_the_documented_similarity(
    book: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "initek" scores 77 against "Initech", above SUGGEST_FROM (65) …
    assert resolve(book, "initek").closest is not None
    # … and is no longer suggested once the threshold is above its score.
    monkeypatch.setattr(accounts, "SUGGEST_FROM", 80.0)
    assert resolve(book, "initek") == Resolution(match=None)


def test_an_empty_book_answers_nothing(db: Database) -> None:
    assert resolve(db, "acme crop") == Resolution(match=None)


def test_find_accounts_keeps_its_list_shape(book: Database) -> None:
    with book.reading() as session:
        assert [a.name for a in find_accounts(session, "acme")] == ["Acme Corp"]
        assert len(find_accounts(session, "globex")) == 2
        assert find_accounts(session, "globex", limit=1)[0].name == "Globex Retail"
        assert find_accounts(session, "initek") == []  # a guess is not a match


def test_many_hits_offer_five_and_count_them_all(db: Database) -> None:
    with db.writing() as session:
        for n in range(12):
            f.account(session, f"NS-{n:02}", f"Northstar {n:02}", domain=None)
    resolution = resolve(db, "northstar")
    assert len(resolution.candidates) == accounts.MAX_CANDIDATES
    assert resolution.total == 12


# --- the chat reply: pick buttons -----------------------------------------------------------


async def test_an_ambiguous_name_asks_which_with_one_pick_button_each(book: Database) -> None:
    reply = await resolve_for_chat("Globex", context_for(book), "health <account>", "health")
    assert isinstance(reply, Reply)
    assert reply.heading == "“Globex” matches 2 accounts — which one?"
    assert [(a.action_id, a.label, dict(a.payload)) for a in reply.actions] == [
        ("closeloop.pick", "Globex Retail", {"command": "health", "account": "GLOBEX-2"}),
        ("closeloop.pick", "Globex Industries", {"command": "health", "account": "GLOBEX-1"}),
    ]


async def test_no_match_suggests_the_closest_with_a_button(book: Database) -> None:
    reply = await resolve_for_chat("initek", context_for(book), "churn <account>", "churn")
    assert isinstance(reply, Reply)
    assert reply.heading == "No account matches “initek”"
    assert reply.paragraphs == ("Did you mean Initech?",)
    assert [(a.action_id, a.label, dict(a.payload)) for a in reply.actions] == [
        ("closeloop.pick", "Initech", {"command": "churn", "account": "INI"}),
    ]


async def test_nothing_close_says_how_to_name_an_account(book: Database) -> None:
    reply = await resolve_for_chat("zzzz", context_for(book), "nps [account]", "nps")
    assert isinstance(reply, Reply)
    assert reply.heading == "No account matches “zzzz”"
    assert reply.actions == ()
    assert "external id" in reply.paragraphs[0]


async def test_a_clear_match_is_the_account(book: Database) -> None:
    account = await resolve_for_chat("acme crop", context_for(book), "health <account>", "health")
    assert isinstance(account, AccountRef)
    assert account.external_id == "ACME"


async def test_button_labels_fit_and_tell_namesakes_apart(db: Database) -> None:
    long_name = "The Very Long and Distinguished Consolidated Holdings Company of Springfield"
    with db.writing() as session:
        f.account(session, "LONG-1", long_name, domain=None)
        f.account(session, "LONG-2", long_name + " West", domain=None)
        f.account(session, "TWIN-1", "Twin Peaks", domain=None)
        f.account(session, "TWIN-2", "Twin Peaks", domain="twinpeaks.example")
    context = context_for(db)
    reply = await resolve_for_chat("the very long", context, "health <account>", "health")
    assert isinstance(reply, Reply)
    assert all(len(a.label) <= MAX_LABEL for a in reply.actions)
    assert reply.actions[0].label.endswith("…")
    twins = await resolve_for_chat("twin peaks", context, "health <account>", "health")
    assert isinstance(twins, Reply)
    assert sorted(a.label for a in twins.actions) == [
        "Twin Peaks (TWIN-1)",
        "Twin Peaks (TWIN-2)",
    ]


async def test_more_hits_than_buttons_says_so(db: Database) -> None:
    with db.writing() as session:
        for n in range(7):
            f.account(session, f"NS-{n}", f"Northstar {n}", domain=None)
    reply = await resolve_for_chat("northstar", context_for(db), "health <account>", "health")
    assert isinstance(reply, Reply)
    assert reply.heading == "“northstar” matches 7 accounts — which one?"
    assert len(reply.actions) == accounts.MAX_CANDIDATES
    assert "5 closest" in reply.paragraphs[0]


# --- a realistic book -------------------------------------------------------------------------


def test_a_typo_among_ten_thousand_accounts_is_found_quickly(db: Database) -> None:
    with db.writing() as session:
        f.account(session)  # Acme Corp
        session.execute(
            insert(Account),
            [
                {
                    "external_id": f"ACC-{n:05}",
                    "name": f"Company {n:05} {('Labs', 'Group', 'Health', 'Retail')[n % 4]}",
                    "domain": f"company-{n:05}.example",
                    "segment": Segment.SMB,
                    "seats": 10,
                    "lifecycle_stage": LifecycleStage.MATURE,
                    "created_on": dt.date(2024, 1, 1),
                }
                for n in range(9_999)
            ],
        )
    timings = []
    with db.reading() as session:
        for _ in range(5):
            started = time.perf_counter()
            resolution = resolve_account(session, "acme crop")
            timings.append(time.perf_counter() - started)
            assert resolution.match is not None
            assert resolution.match.name == "Acme Corp"
    # Typically ~30 ms; the bound only catches an accidental per-account query or loop.
    assert statistics.median(timings) < 0.5
