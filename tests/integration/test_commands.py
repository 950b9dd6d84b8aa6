"""Every command through the router on a seeded book, as `closeloop ask` runs it.

Where a reply states a count, the test counts the same thing with its own SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Reply
from bot.router import Router
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Renewal, RenewalStatus, SurveyKind, SurveyResponse
from metrics_core.synthetic import seed_database
from tests.routing import router_for

AS_OF = dt.date(2026, 11, 20)
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("book") / "closeloop.db"
    database = Database(make_engine(f"sqlite:///{path}"))
    migrate.upgrade(database.engine)
    seed_database(database.engine, accounts=150, days=365, seed=11, as_of=AS_OF)
    yield database
    database.close()


@pytest.fixture(scope="module")
def router(book: Database) -> Router:
    return router_for(book, today=AS_OF)


async def ask(router: Router, text: str) -> Reply:
    return await router.handle(CommandRequest.parse(text, ME))


def table(reply: Reply, title: str | None = None) -> list[tuple[str, ...]]:
    found = [t for t in reply.tables if title is None or t.title == title]
    assert found, f"no table {title!r} in {[t.title for t in reply.tables]}"
    return list(found[0].rows)


def facts(reply: Reply) -> dict[str, str]:
    return {fact.label: fact.value for fact in reply.facts}


async def test_help_lists_every_command(router: Router) -> None:
    reply = await ask(router, "help")
    assert [row[0].split()[0] for row in table(reply)] == [
        "health",
        "churn",
        "nps",
        "renewals",
        "kpis",
        "value",
        "followups",
        "playbooks",
        "digest",
        "help",
    ]


async def test_health_of_acme(router: Router) -> None:
    reply = await ask(router, "health acme")
    assert reply.heading == "Acme Corp — health"
    assert reply.metrics[0].label == "Health score"
    assert facts(reply)["Owner"] == "Dana Whitfield"
    components = table(reply)
    assert {row[0] for row in components} == {
        "Usage",
        "Adoption",
        "Support",
        "Sentiment",
        "Relationship",
        "Commercial",
    }
    assert sum(float(row[3]) for row in components) == pytest.approx(
        float(reply.metrics[0].value.split("/")[0]), abs=1.0
    )


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("health", "Which account?"),
        ("health zzzz-no-such", "No account matches “zzzz-no-such”"),
        ("churn", "Which account?"),
    ],
)
async def test_account_commands_explain_bad_arguments(
    router: Router, text: str, heading: str
) -> None:
    assert (await ask(router, text)).heading == heading


async def test_churn_of_acme_names_its_drivers_and_method(router: Router) -> None:
    reply = await ask(router, "churn ACME")
    assert reply.heading == "Acme Corp — churn risk"
    assert reply.metrics[0].value.endswith("%")
    assert 0 <= int(reply.metrics[0].value.rstrip(" %")) <= 100
    assert reply.notes[0].startswith(("Model:", "Rule-based risk:"))
    assert table(reply)  # a declining account has drivers


async def test_churn_top_is_ranked(router: Router) -> None:
    reply = await ask(router, "churn top 5")
    rows = table(reply)
    assert len(rows) == 5
    risks = [int(row[1].rstrip(" %")) for row in rows]
    assert risks == sorted(risks, reverse=True)
    assert (await ask(router, "churn top many")).heading == "“many” is not a count"


async def test_nps_company_wide(router: Router, book: Database) -> None:
    reply = await ask(router, "nps")
    assert reply.heading == "NPS — all customers, last 90 days"
    since = dt.datetime.combine(AS_OF - dt.timedelta(days=89), dt.time(), tzinfo=dt.UTC)
    with book.reading() as session:
        n = session.scalar(
            select(func.count()).where(
                SurveyResponse.kind == SurveyKind.NPS, SurveyResponse.submitted_at >= since
            )
        )
    assert f"n = {n}" in (reply.metrics[0].detail or "")
    assert len(table(reply, "Monthly trend")) == 6
    assert table(reply, "By segment (worst first)")
    assert table(reply, "By CSM (worst first)")


async def test_nps_by_segment_account_and_month(router: Router, book: Database) -> None:
    smb = await ask(router, "nps smb")
    assert smb.heading == "NPS — SMB, last 90 days"
    assert all(t.title != "By segment (worst first)" for t in smb.tables)
    acme = await ask(router, "nps acme 365d")
    assert acme.heading == "NPS — Acme Corp, last 365 days"
    october = await ask(router, "nps 2026-10")
    assert october.heading == "NPS — all customers, October 2026"
    with book.reading() as session:
        n = session.scalar(
            select(func.count()).where(
                SurveyResponse.kind == SurveyKind.NPS,
                SurveyResponse.submitted_at >= dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
                SurveyResponse.submitted_at < dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            )
        )
    assert f"n = {n}" in (october.metrics[0].detail or "")


async def test_renewals_in_90_days(router: Router, book: Database) -> None:
    reply = await ask(router, "renewals 90")
    with book.reading() as session:
        due = session.scalar(
            select(func.count()).where(
                Renewal.status == RenewalStatus.UPCOMING,
                Renewal.renewal_date >= AS_OF,
                Renewal.renewal_date <= AS_OF + dt.timedelta(days=90),
            )
        )
    assert facts(reply)["Due"].startswith(f"{due} renewals")
    assert 0 < len(table(reply)) <= 15
    assert (await ask(router, "renewals soon")).heading == "“soon” is not a number of days"


async def test_followups_and_refresh_buttons(router: Router) -> None:
    everyone = await ask(router, "followups")
    assert everyone.heading == "Open follow-ups"
    mine = await ask(router, "followups mine")
    assert mine.heading == "Your open follow-ups"  # U0CSM1 is Dana Whitfield
    stranger = await router.handle(
        CommandRequest.parse("followups mine", Actor(Platform.CONSOLE, user_id="UNOBODY"))
    )
    assert stranger.heading == "You are not on the CS team yet"
    assert [a.label for a in mine.actions] == ["Refresh", "Share in channel"]
    assert mine.actions[0].payload == {"command": "followups mine"}


async def test_umbrella_command(router: Router) -> None:
    assert (await ask(router, "closeloop health acme")).heading == "Acme Corp — health"
    assert (await ask(router, "closeloop")).heading == "Closeloop commands"


async def test_kpis(router: Router) -> None:
    reply = await ask(router, "kpis")
    assert reply.heading == "KPIs — all segments, last 12 months"
    labels = [m.label for m in reply.metrics]
    assert labels == ["NRR", "GRR", "Logo retention"]
    grr = float(reply.metrics[1].value.rstrip(" %"))
    nrr = float(reply.metrics[0].value.rstrip(" %"))
    assert grr <= 100
    assert grr <= nrr  # NRR is GRR plus expansion
    assert " % of ARR managed, annualised — " in facts(reply)["Cost to retain"]
    assert table(reply, "Books — all segments, ARR on 20 Nov 2026 (largest first)")
    enterprise = await ask(router, "kpis enterprise 2026-q3")
    assert enterprise.heading == "KPIs — Enterprise, Q3 2026"
    assert (await ask(router, "kpis lots")).heading == "I don't understand “lots”"


def _customers_with_arr(book: Database, on: dt.date, segment: str | None) -> dict[str, int]:
    """CSM name → accounts with ARR at the end of day `on`, counted with SQL of our own."""
    sql = (
        "SELECT t.name, count(*) FROM ("
        "  SELECT m.account_id, sum(CASE WHEN m.kind IN ('new', 'expansion') THEN m.amount"
        "                           ELSE -m.amount END) AS arr"
        "  FROM arr_movements m WHERE m.effective_on <= :on GROUP BY m.account_id"
        ") a JOIN accounts ac ON ac.id = a.account_id JOIN team_members t ON t.id = ac.owner_id "
        "WHERE a.arr > 0.005 AND t.role = 'csm' AND (:segment IS NULL OR ac.segment = :segment) "
        "GROUP BY t.name"
    )
    with book.reading() as session:
        rows = session.execute(sql_text(sql), {"on": on, "segment": segment}).all()
    return {str(name): int(n) for name, n in rows}


def _touchpoints(book: Database, start: dt.date, end: dt.date, segment: str | None) -> int:
    sql = (
        "SELECT count(*) FROM activities a JOIN accounts ac ON ac.id = a.account_id "
        "JOIN team_members t ON t.id = a.team_member_id "
        "WHERE a.occurred_at >= :start AND a.occurred_at < :end "
        "AND (:segment IS NULL OR ac.segment = :segment)"
    )
    with book.reading() as session:
        found = session.execute(
            sql_text(sql),
            {
                "start": dt.datetime.combine(start, dt.time()),
                "end": dt.datetime.combine(end, dt.time()),
                "segment": segment,
            },
        ).scalar_one()
    return int(found)


def _touch_total(rows: list[tuple[str, ...]]) -> int:
    return sum(sum(int(n) for n in cell.split("/")) for row in rows for cell in row[1:])


async def test_kpis_books_and_touchpoints_follow_the_segment(
    router: Router, book: Database
) -> None:
    reply = await ask(router, "kpis enterprise 12m")
    books_title = "Books — Enterprise, ARR on 20 Nov 2026 (largest first)"
    assert {row[0]: int(row[1]) for row in table(reply, books_title)} == _customers_with_arr(
        book, AS_OF, "Enterprise"
    )
    touches = next(t for t in reply.tables if t.title and t.title.startswith("Touchpoints"))
    assert touches.title == (
        "Touchpoints per month — Enterprise, 1 Jun – 20 Nov 2026 (calls/QBRs/trainings/emails)"
    )
    assert touches.columns == ("CSM", *(f"2026-{m:02d}" for m in range(6, 12)))
    assert _touch_total(list(touches.rows)) == _touchpoints(
        book, dt.date(2026, 6, 1), AS_OF + dt.timedelta(days=1), "Enterprise"
    )


async def test_kpis_of_a_past_period_show_its_books_and_months(
    router: Router, book: Database
) -> None:
    reply = await ask(router, "kpis 2026-q2")
    assert reply.heading == "KPIs — all segments, Q2 2026"
    books_title = "Books — all segments, ARR on 30 Jun 2026 (largest first)"
    shown = {row[0]: int(row[1]) for row in table(reply, books_title)}
    expected = _customers_with_arr(book, dt.date(2026, 6, 30), None)
    assert shown == {name: n for name, n in expected.items() if name in shown}
    assert len(shown) == min(10, len(expected))
    assert any("owner today" in note for note in reply.notes)
    touches = table(
        reply,
        "Touchpoints per month — all segments, 1 Apr – 30 Jun 2026 (calls/QBRs/trainings/emails)",
    )
    assert _touch_total(touches) == _touchpoints(
        book, dt.date(2026, 4, 1), dt.date(2026, 7, 1), None
    )


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("nps 2026-13", "“2026-13” is not a period"),
        ("nps acme q5", "“q5” is not a period"),
        ("kpis 2026-13", "“2026-13” is not a period"),
        ("followups sla 2026-00 smb", "“2026-00” is not a period"),
        ("nps 2027", "2027 has not started yet"),
    ],
)
async def test_a_mistyped_period_is_named_not_searched_as_an_account(
    router: Router, text: str, heading: str
) -> None:
    reply = await ask(router, text)
    assert reply.heading == heading
    assert not reply.actions or all(
        a.label in ("Refresh", "Share in channel") for a in reply.actions
    )


async def test_periods_in_words(router: Router) -> None:
    assert (await ask(router, "nps last month")).heading == "NPS — all customers, October 2026"
    assert (await ask(router, "kpis enterprise last quarter")).heading == (
        "KPIs — Enterprise, Q3 2026"
    )
    sla = await ask(router, "followups sla last 30 days smb")
    assert sla.heading == "Closed loop — SMB, last 30 days"
    assert (await ask(router, "nps smb q3 2026")).heading == "NPS — SMB, Q3 2026"


async def test_mine_at_a_terminal_without_user_says_how_to_say_who_asks(router: Router) -> None:
    nobody = Actor(Platform.CONSOLE)
    for text in ("followups mine", "digest preview"):
        reply = await router.handle(CommandRequest.parse(text, nobody))
        assert reply.heading == "Who is asking?"
        assert "--user U0CSM1" in reply.paragraphs[0]
