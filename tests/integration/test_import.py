"""`import_csv`: every kind lands right, re-imports update, and bad files change nothing.

Files are written inline, next to the assertions about them, so each test shows the
exact CSV a user would have and the exact message they would read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metrics_core.accounts.respondents import match_respondent
from metrics_core.importing import ImportFailed, ImportResult, Problem, import_csv
from metrics_core.store.db import Database
from metrics_core.store.models import (
    Account,
    Activity,
    ArrMovement,
    ArrMovementKind,
    Base,
    Contact,
    Contract,
    LifecycleStage,
    Renewal,
    RenewalStatus,
    Segment,
    SurveyResponse,
    TeamMember,
    TeamRole,
    Ticket,
    UsageDaily,
)

TEAM = """\
    email,name,role,slack_user_id,manager_email
    Ann@Example.com,Ann Csm,CSM,U0CSM1,boss@example.com
    boss@example.com,Big Boss,manager,U0BOSS,
    """

ACCOUNTS = """\
    external_id,name,domain,segment,owner_email,seats,created_on
    ACME,Acme Corp,Acme.Example,enterprise,ann@example.com,500,2024-01-01
    GLOBEX,Globex,globex.example,Mid-market,,,2024-02-01
    """


def write(folder: Path, name: str, content: str | bytes) -> Path:
    """A CSV file as a user would save it; text is dedented so tests can indent it."""
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content), encoding="utf-8", newline="")
    return path


def run(
    db: Database, kind: str, folder: Path, content: str | bytes, max_problems: int = 20
) -> ImportResult:
    path = write(folder, f"{kind}.csv", content)
    return import_csv(db.engine, kind, path, max_problems=max_problems)


@contextlib.contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read session whose objects stay readable afterwards (detached, not expired)."""
    with db.reading() as session:
        yield session
        session.expunge_all()


def row_counts(db: Database) -> dict[str, int]:
    with snapshot(db) as session:
        return {
            name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }


def rejected(
    db: Database, kind: str, folder: Path, content: str | bytes, max_problems: int = 20
) -> ImportFailed:
    """Import a bad file and prove the database did not change at all."""
    before = row_counts(db)
    with pytest.raises(ImportFailed) as failure:
        run(db, kind, folder, content, max_problems)
    assert row_counts(db) == before
    return failure.value


@pytest.fixture
def sqlite_book(sqlite_db: Database, tmp_path: Path) -> Database:
    """The book below on SQLite, for problems of the file itself: the references resolve,
    so only the problem under test is reported."""
    run(sqlite_db, "team", tmp_path, TEAM)
    run(sqlite_db, "accounts", tmp_path, ACCOUNTS)
    return sqlite_db


@pytest.fixture
def book(db: Database, tmp_path: Path) -> Database:
    """A database with the team and accounts above, imported the way a user would."""
    run(db, "team", tmp_path, TEAM)
    run(db, "accounts", tmp_path, ACCOUNTS)
    return db


# --- every kind, happy path -------------------------------------------------------------


def test_team_members_land_with_roles_chat_ids_and_managers(db: Database, tmp_path: Path) -> None:
    result = run(db, "team", tmp_path, TEAM)

    assert (result.kind, result.rows, result.inserted, result.updated) == ("team", 2, 2, 0)
    with snapshot(db) as session:
        ann, boss = (
            session.scalars(select(TeamMember).where(TeamMember.email == email)).one()
            for email in ("ann@example.com", "boss@example.com")
        )
        assert (ann.name, ann.role, ann.slack_user_id) == ("Ann Csm", TeamRole.CSM, "U0CSM1")
        assert ann.manager_id == boss.id  # the manager is defined further down the same file
        assert (boss.role, boss.manager_id, boss.active) == (TeamRole.MANAGER, None, True)


def test_accounts_land_with_canonical_values_and_defaults(book: Database) -> None:
    with snapshot(book) as session:
        acme = session.scalars(select(Account).where(Account.external_id == "ACME")).one()
        globex = session.scalars(select(Account).where(Account.external_id == "GLOBEX")).one()
        ann = session.scalars(select(TeamMember).where(TeamMember.email == "ann@example.com")).one()
    assert (acme.name, acme.domain, acme.segment) == (
        "Acme Corp",
        "acme.example",
        Segment.ENTERPRISE,
    )
    assert (acme.owner_id, acme.seats, acme.created_on) == (ann.id, 500, dt.date(2024, 1, 1))
    assert acme.lifecycle_stage is LifecycleStage.ONBOARDING
    assert (globex.segment, globex.owner_id, globex.seats) == (Segment.MID_MARKET, None, 0)


def test_contacts_land_on_their_account(book: Database, tmp_path: Path) -> None:
    result = run(
        book,
        "contacts",
        tmp_path,
        """\
        email,name,account_external_id,title
        Jane@Acme.example,Jane Doe,ACME,VP Ops
        joe@globex.example,Joe Bloggs,GLOBEX,
        """,
    )

    assert (result.inserted, result.updated) == (2, 0)
    with snapshot(book) as session:
        found = session.execute(
            select(Contact.email, Account.external_id, Contact.title)
            .join(Account)
            .order_by(Contact.email)
        ).all()
    assert [tuple(r) for r in found] == [
        ("jane@acme.example", "ACME", "VP Ops"),
        ("joe@globex.example", "GLOBEX", None),
    ]


def _history(db: Database, external_id: str) -> tuple[list[tuple[str, float, dt.date]], list[str]]:
    with snapshot(db) as session:
        account = session.scalars(select(Account).where(Account.external_id == external_id)).one()
        movements = session.execute(
            select(ArrMovement.kind, ArrMovement.amount, ArrMovement.effective_on)
            .where(ArrMovement.account_id == account.id)
            .order_by(ArrMovement.effective_on, ArrMovement.kind)
        ).all()
        renewals = session.scalars(
            select(Renewal.status)
            .where(Renewal.account_id == account.id)
            .order_by(Renewal.renewal_date)
        ).all()
        return [(str(k), a, d) for k, a, d in movements], [str(s) for s in renewals]


def test_contracts_produce_movements_renewals_and_churned_lifecycle(
    book: Database, tmp_path: Path
) -> None:
    run(
        book,
        "contracts",
        tmp_path,
        """\
        external_id,account_external_id,start_date,end_date,arr,status
        C-2,ACME,2025-01-01,2025-12-31,120000,churned
        C-1,ACME,2024-01-01,2024-12-31,100000,
        G-1,GLOBEX,2024-02-01,2025-01-31,5000.50,active
        """,
    )

    movements, renewals = _history(book, "ACME")
    assert movements == [
        ("new", 100_000.0, dt.date(2024, 1, 1)),
        ("expansion", 20_000.0, dt.date(2025, 1, 1)),
        ("churn", 120_000.0, dt.date(2025, 12, 31)),
    ]
    assert renewals == ["renewed", "churned"]
    assert _history(book, "GLOBEX") == ([("new", 5000.5, dt.date(2024, 2, 1))], ["upcoming"])
    with snapshot(book) as session:
        stages = dict(session.execute(select(Account.external_id, Account.lifecycle_stage)).all())
    assert stages == {"ACME": LifecycleStage.CHURNED, "GLOBEX": LifecycleStage.ONBOARDING}


def test_contract_history_is_rebuilt_from_all_terms_of_the_account(
    book: Database, tmp_path: Path
) -> None:
    first = """\
        external_id,account_external_id,start_date,end_date,arr,status
        C-1,ACME,2024-01-01,2024-12-31,100000,active
        C-2,ACME,2025-01-01,2025-12-31,120000,churned
        """
    run(book, "contracts", tmp_path, first)
    # Later the customer comes back: only the new term is in the next file.
    run(
        book,
        "contracts",
        tmp_path,
        """\
        external_id,account_external_id,start_date,end_date,arr
        C-3,ACME,2026-06-01,2027-05-31,80000
        """,
    )

    movements, renewals = _history(book, "ACME")
    assert [m[0] for m in movements] == ["new", "expansion", "churn", "new"]
    assert movements[-1] == ("new", 80_000.0, dt.date(2026, 6, 1))
    assert renewals == ["renewed", "churned", "upcoming"]
    with snapshot(book) as session:
        acme = session.scalars(select(Account).where(Account.external_id == "ACME")).one()
        assert acme.lifecycle_stage is LifecycleStage.ONBOARDING
        assert session.scalar(select(func.count()).select_from(ArrMovement)) == 4


def test_usage_with_feature_columns_and_defaults(book: Database, tmp_path: Path) -> None:
    result = run(
        book,
        "usage",
        tmp_path,
        """\
        account_external_id,date,active_users,sessions,feature_reports,feature_Alerts
        ACME,2026-01-01,10,20,3,0
        ACME,2026-01-02,11,,0,0
        GLOBEX,2026-01-01,5,6,1,2
        """,
    )

    assert (result.rows, result.inserted, result.updated) == (3, 3, 0)
    with snapshot(book) as session:
        rows = session.execute(
            select(
                Account.external_id,
                UsageDaily.day,
                UsageDaily.active_users,
                UsageDaily.sessions,
                UsageDaily.events,
                UsageDaily.feature_counts,
            )
            .join(Account)
            .order_by(Account.external_id, UsageDaily.day)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("ACME", dt.date(2026, 1, 1), 10, 20, 0, {"reports": 3}),
        ("ACME", dt.date(2026, 1, 2), 11, 0, 0, {}),
        ("GLOBEX", dt.date(2026, 1, 1), 5, 6, 0, {"alerts": 2, "reports": 1}),
    ]


def test_tickets_store_utc_instants_and_defaults(book: Database, tmp_path: Path) -> None:
    run(
        book,
        "tickets",
        tmp_path,
        """\
        external_id,account_external_id,subject,priority,status,category,opened_at,closed_at
        T-1,ACME,"Export fails, again",URGENT,Open,,2026-11-20T10:30:00+01:00,
        T-2,GLOBEX,,low,closed,billing,2026-11-20 09:00,2026-11-21T09:00:00Z
        """,
    )

    with snapshot(book) as session:
        t1, t2 = session.scalars(select(Ticket).order_by(Ticket.external_id)).all()
    assert (t1.subject, str(t1.priority), str(t1.status)) == (
        "Export fails, again",
        "urgent",
        "open",
    )
    assert (t1.category, t1.opened_at, t1.closed_at) == (
        "general",
        dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
        None,
    )
    assert (t2.subject, t2.category) == ("", "billing")
    assert t2.opened_at == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)  # naive means UTC
    assert t2.closed_at == dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def test_activities_link_account_and_csm(book: Database, tmp_path: Path) -> None:
    run(
        book,
        "activities",
        tmp_path,
        """\
        external_id,account_external_id,kind,occurred_at,csm_email,note
        A-1,ACME,QBR,2026-10-01T15:00:00Z,ANN@example.com,Renewal risk discussed
        A-2,GLOBEX,call,2026-10-02T08:00:00Z,,
        """,
    )

    with snapshot(book) as session:
        ann_id = session.scalar(select(TeamMember.id).where(TeamMember.email == "ann@example.com"))
        rows = session.execute(
            select(Activity.external_id, Account.external_id, Activity.kind)
            .add_columns(Activity.team_member_id, Activity.note)
            .join(Account, Activity.account_id == Account.id)
            .order_by(Activity.external_id)
        ).all()
    assert [(a, b, str(k), m, n) for a, b, k, m, n in rows] == [
        ("A-1", "ACME", "qbr", ann_id, "Renewal risk discussed"),
        ("A-2", "GLOBEX", "call", None, None),
    ]


SURVEYS = """\
    response_id,survey,score,comment,respondent_email,account_external_id,submitted_at
    r-1,nps,3,Too slow,bob@acme.example,GLOBEX,2026-11-20T09:30:00Z
    r-2,NPS,10,,jane@partner.example,,2026-11-20T09:31:00Z
    r-3,csat,4,,bob@acme.example,,2026-11-20T09:32:00Z
    r-4,ces,7,,someone@elsewhere.example,,2026-11-20T09:33:00Z
    """


def test_survey_answers_are_matched_to_accounts_and_contacts(
    book: Database, tmp_path: Path
) -> None:
    run(
        book,
        "contacts",
        tmp_path,
        "email,name,account_external_id\njane@partner.example,Jane Doe,GLOBEX\n",
    )
    result = run(book, "surveys", tmp_path, SURVEYS)

    assert (result.inserted, result.updated) == (4, 0)
    with snapshot(book) as session:
        ids = dict(session.execute(select(Account.external_id, Account.id)).all())
        jane = session.scalar(select(Contact.id).where(Contact.email == "jane@partner.example"))
        answers = {
            r.provider_response_id: r
            for r in session.scalars(select(SurveyResponse).order_by(SurveyResponse.id))
        }
    matched = {key: (a.account_id, a.contact_id) for key, a in answers.items()}
    assert matched == {
        "r-1": (ids["GLOBEX"], None),  # the file's account wins over the email's domain
        "r-2": (ids["GLOBEX"], jane),  # a known contact, whatever their email's domain
        "r-3": (ids["ACME"], None),  # acme.example is ACME's domain
        "r-4": (None, None),  # nobody matches: kept, unmatched
    }
    first = answers["r-1"]
    assert (first.provider, str(first.kind), first.score, first.comment) == (
        "import",
        "nps",
        3,
        "Too slow",
    )
    assert first.submitted_at == dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    assert first.received_at == first.updated_at
    assert first.received_at.tzinfo == dt.UTC


def test_reimported_survey_keeps_received_at_and_gets_new_updated_at(
    book: Database, tmp_path: Path
) -> None:
    run(book, "surveys", tmp_path, SURVEYS)
    with snapshot(book) as session:
        before = session.scalars(
            select(SurveyResponse).where(SurveyResponse.provider_response_id == "r-1")
        ).one()

    result = run(book, "surveys", tmp_path, SURVEYS.replace("3,Too slow", "5,Better now"))

    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 3)
    with snapshot(book) as session:
        after = session.scalars(
            select(SurveyResponse).where(SurveyResponse.provider_response_id == "r-1")
        ).one()
        assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 4
    assert (after.score, after.comment) == (5, "Better now")
    assert after.received_at == before.received_at
    assert after.updated_at > before.updated_at


# --- re-import ----------------------------------------------------------------------------


def _versions(db: Database) -> dict[str, int]:
    with snapshot(db) as session:
        rows = session.execute(select(Account.external_id, Account.inputs_version)).all()
    return {str(external_id): int(version) for external_id, version in rows}


def test_reimporting_the_same_file_changes_nothing(book: Database, tmp_path: Path) -> None:
    with snapshot(book) as session:
        before = session.execute(select(Account).order_by(Account.id)).scalars().all()
        stored = [(a.id, a.name, a.owner_id, a.seats, a.segment) for a in before]
    versions = _versions(book)

    result = run(book, "accounts", tmp_path, ACCOUNTS)

    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 2)
    assert result.summary("accounts.csv").startswith(
        "Imported 2 accounts rows from accounts.csv (0 new, 0 updated, 2 unchanged) in "
    )
    with snapshot(book) as session:
        after = session.execute(select(Account).order_by(Account.id)).scalars().all()
        assert [(a.id, a.name, a.owner_id, a.seats, a.segment) for a in after] == stored
    # Nothing changed, so no cached health answer is thrown away.
    assert _versions(book) == versions


def test_every_kind_reimported_unchanged_writes_nothing(book: Database, tmp_path: Path) -> None:
    files = {
        "team": TEAM,
        "contacts": "email,name,account_external_id,title\njane@acme.example,Jane,ACME,CTO\n",
        "contracts": (
            "external_id,account_external_id,start_date,end_date,arr,status\n"
            "C-1,ACME,2024-01-01,2024-12-31,100000.10,\n"
            "C-2,ACME,2025-01-01,2025-12-31,120000,churned\n"
        ),
        "usage": (
            "account_external_id,date,active_users,sessions,feature_reports\n"
            "ACME,2026-01-01,10,20,3\nACME,2026-01-02,11,,0\n"
        ),
        "tickets": (
            "external_id,account_external_id,priority,status,opened_at,closed_at\n"
            "T-1,ACME,high,solved,2026-01-01T09:00:00+01:00,2026-01-02T10:00:00Z\n"
            "T-2,ACME,low,open,2026-01-03T09:00:00,\n"
        ),
        "surveys": SURVEYS,
        "activities": (
            "external_id,account_external_id,kind,occurred_at,csm_email,note\n"
            "A-1,ACME,call,2026-01-01T09:00:00Z,ann@example.com,Kick-off\n"
        ),
        "cs_costs": (
            "period_start,period_end,amount,segment\n"
            "2026-01-01,2026-01-31,4000.50,\n2026-01-01,2026-01-31,1000,smb\n"
        ),
    }
    for kind, content in files.items():
        run(book, kind, tmp_path, content)
    with snapshot(book) as session:
        movements = session.execute(select(ArrMovement.id).order_by(ArrMovement.id)).all()
    versions = _versions(book)

    for kind, content in files.items():
        result = run(book, kind, tmp_path, content)
        assert (result.inserted, result.updated, result.unchanged) == (0, 0, result.rows), kind

    assert _versions(book) == versions
    with snapshot(book) as session:  # the ARR history was not rebuilt
        assert session.execute(select(ArrMovement.id).order_by(ArrMovement.id)).all() == movements


def test_a_change_only_in_a_derived_value_is_an_update(book: Database, tmp_path: Path) -> None:
    """A contract's status lives in its renewal and a manager is a link: both are changes."""
    contract = "external_id,account_external_id,start_date,end_date,arr,status\n"
    run(book, "contracts", tmp_path, contract + "C-1,ACME,2024-01-01,2024-12-31,100,\n")
    versions = _versions(book)

    churned = run(
        book, "contracts", tmp_path, contract + "C-1,ACME,2024-01-01,2024-12-31,100,churned\n"
    )
    no_manager = TEAM.replace("U0CSM1,boss@example.com", "U0CSM1,")
    new_manager = run(book, "team", tmp_path, no_manager)

    assert (churned.updated, churned.unchanged) == (1, 0)
    assert (new_manager.updated, new_manager.unchanged) == (1, 1)
    assert _history(book, "ACME")[1] == [str(RenewalStatus.CHURNED)]
    with snapshot(book) as session:
        ann = session.scalars(select(TeamMember).where(TeamMember.email == "ann@example.com")).one()
    assert ann.manager_id is None
    assert all(_versions(book)[key] > version for key, version in versions.items())


def test_changed_rows_update_and_left_out_columns_keep_their_values(
    book: Database, tmp_path: Path
) -> None:
    run(
        book,
        "usage",
        tmp_path,
        "account_external_id,date,active_users,events\nACME,2026-01-01,10,7\n",
    )
    with book.writing() as session:  # as a contract import would have done
        session.execute(update(Account).values(lifecycle_stage=LifecycleStage.CHURNED))

    accounts = run(
        book,
        "accounts",
        tmp_path,
        """\
        external_id,name,segment,created_on
        ACME,Acme Corporation,SMB,2024-01-01
        INITECH,Initech,smb,2025-03-01
        """,
    )
    usage = run(
        book,
        "usage",
        tmp_path,
        """\
        account_external_id,date,active_users,sessions
        ACME,2026-01-01,12,3
        ACME,2026-01-02,13,4
        """,
    )

    assert (accounts.inserted, accounts.updated, usage.inserted, usage.updated) == (1, 1, 1, 1)
    with snapshot(book) as session:
        acme = session.scalars(select(Account).where(Account.external_id == "ACME")).one()
        initech = session.scalars(select(Account).where(Account.external_id == "INITECH")).one()
        days = session.execute(
            select(UsageDaily.day, UsageDaily.active_users, UsageDaily.sessions, UsageDaily.events)
            .where(UsageDaily.account_id == acme.id)
            .order_by(UsageDaily.day)
        ).all()
    assert (acme.name, acme.segment, acme.seats, acme.domain) == (
        "Acme Corporation",
        Segment.SMB,
        500,
        "acme.example",
    )
    assert acme.lifecycle_stage is LifecycleStage.CHURNED  # the file has no lifecycle_stage
    assert (initech.seats, initech.lifecycle_stage) == (0, LifecycleStage.ONBOARDING)
    assert [tuple(d) for d in days] == [
        (dt.date(2026, 1, 1), 12, 3, 7),  # events kept: the file has no events column
        (dt.date(2026, 1, 2), 13, 4, 0),
    ]


def test_progress_reaches_the_total(book: Database, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    run_path = write(tmp_path, "accounts.csv", ACCOUNTS)

    import_csv(
        book.engine, "accounts", run_path, progress=lambda done, total: calls.append((done, total))
    )

    assert calls[0] == (0, 2)
    assert calls[-1] == (2, 2)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_spreadsheet_exports_are_accepted(book: Database, tmp_path: Path) -> None:
    """BOM, CRLF, upper-case headers, padded values and blank trailing rows, as Excel writes."""
    content = (
        "\ufeffEXTERNAL_ID, Name ,Segment,Created_On\r\n"
        " HOOLI , Hooli ,SMB,2025-01-01\r\n"
        ",,,\r\n"
        "\r\n"
    )
    result = run(book, "accounts", tmp_path, content.encode("utf-8"))

    assert (result.rows, result.inserted) == (1, 1)
    with snapshot(book) as session:
        hooli = session.scalars(select(Account).where(Account.external_id == "HOOLI")).one()
    assert hooli.name == "Hooli"


# --- bad files: the exact problem, and nothing written --------------------------------------
# Problems found in the file alone stop the import before any database work, so those
# tests run on SQLite only; reference and rollback tests run on both databases.


def test_missing_required_column(sqlite_db: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_db, "accounts", tmp_path, "external_id,name,created_on\nX,X,2024-01-01\n"
    )

    assert failure.problems == [
        Problem(
            "accounts.csv",
            1,
            None,
            "missing required column 'segment'; the columns for accounts are: external_id*, "
            "name*, domain, segment*, owner_email, seats, lifecycle_stage, created_on* "
            "(* = required)",
        )
    ]


def test_semicolon_separated_file(sqlite_db: Database, tmp_path: Path) -> None:
    failure = rejected(sqlite_db, "contacts", tmp_path, "email;name;account_external_id\na;b;c\n")

    assert [str(p) for p in failure.problems] == [
        "contacts.csv:1: values are separated by semicolons; save the file as comma-separated"
    ]


def test_extra_columns_of_a_crm_export_are_ignored_and_named(
    sqlite_book: Database, tmp_path: Path
) -> None:
    result = run(
        sqlite_book,
        "accounts",
        tmp_path,
        """\
        external_id,name,industry,segment,created_on,owner_emial,Annual Revenue
        HOOLI,Hooli,Software,SMB,2025-01-01,ann@example.com,12000000
        """,
    )

    assert (result.rows, result.inserted) == (1, 1)
    assert result.ignored_columns == ("industry", "owner_emial", "annual revenue")
    assert result.summary("crm.csv").endswith(
        " Ignored columns: industry, owner_emial (did you mean 'owner_email'?), annual revenue."
    )
    with snapshot(sqlite_book) as session:
        hooli = session.scalars(select(Account).where(Account.external_id == "HOOLI")).one()
    assert (hooli.name, hooli.segment, hooli.owner_id) == ("Hooli", Segment.SMB, None)


def test_usage_features_still_count_next_to_ignored_columns(
    sqlite_book: Database, tmp_path: Path
) -> None:
    result = run(
        sqlite_book,
        "usage",
        tmp_path,
        "account_external_id,plan,date,active_users,feature_reports\nACME,pro,2026-01-01,10,3\n",
    )

    assert result.ignored_columns == ("plan",)
    with snapshot(sqlite_book) as session:
        assert session.scalar(select(UsageDaily.feature_counts)) == {"reports": 3}


def test_what_is_truly_wrong_with_a_header_is_still_refused(
    sqlite_db: Database, tmp_path: Path
) -> None:
    twice = rejected(
        sqlite_db,
        "contacts",
        tmp_path,
        "email,name,account_external_id,industry,Name\na@acme.example,A,ACME,x,B\n",
    )
    misspelt = rejected(
        sqlite_db, "contacts", tmp_path, "email,name,acount_external_id\na@acme.example,A,ACME\n"
    )

    assert [str(p) for p in twice.problems] == [
        "contacts.csv:1: column 'name': appears twice in the header"
    ]
    assert [str(p) for p in misspelt.problems] == [
        "contacts.csv:1: missing required column 'account_external_id' ('acount_external_id' "
        "looks like 'account_external_id'); the columns for contacts are: email*, name*, "
        "account_external_id*, title (* = required)"
    ]


def test_bad_date_names_line_and_column(sqlite_book: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_book,
        "usage",
        tmp_path,
        """\
        account_external_id,date,active_users
        ACME,2026-12-01,4
        ACME,2026-13-01,5
        """,
    )

    assert [str(p) for p in failure.problems] == [
        "usage.csv:3: column 'date': '2026-13-01' is not a date (YYYY-MM-DD)"
    ]


def test_unknown_account_reference(book: Database, tmp_path: Path) -> None:
    failure = rejected(
        book,
        "usage",
        tmp_path,
        """\
        account_external_id,date,active_users
        ACME,2026-12-01,4
        NOPE,2026-12-01,5
        acme,2026-12-02,5
        """,
    )

    assert [(p.line, p.column, p.message) for p in failure.problems] == [
        (
            3,
            "account_external_id",
            "account 'NOPE' is not in the database; "
            "import it with `closeloop import accounts` first",
        ),
        (
            4,
            "account_external_id",
            "account 'acme' is not in the database (did you mean 'ACME'?); "
            "import it with `closeloop import accounts` first",
        ),
    ]


def test_unknown_team_member_reference(book: Database, tmp_path: Path) -> None:
    failure = rejected(
        book,
        "accounts",
        tmp_path,
        "external_id,name,segment,owner_email,created_on\nX,X,SMB,ghost@example.com,2024-01-01\n",
    )

    assert [str(p) for p in failure.problems] == [
        "accounts.csv:2: column 'owner_email': 'ghost@example.com' is not a team member; "
        "import it with `closeloop import team` first"
    ]


def test_unknown_manager_is_neither_stored_nor_in_the_file(db: Database, tmp_path: Path) -> None:
    failure = rejected(
        db, "team", tmp_path, "email,name,manager_email\na@x.example,A,b@x.example\n"
    )

    assert [str(p) for p in failure.problems] == [
        "team.csv:2: column 'manager_email': 'b@x.example' is not a team member, "
        "neither stored nor in this file"
    ]


def test_duplicate_ids_name_both_lines(sqlite_book: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_book,
        "tickets",
        tmp_path,
        """\
        external_id,account_external_id,priority,status,opened_at
        T-1,ACME,low,open,2026-01-01T00:00:00Z
        T-2,ACME,low,open,2026-01-01T00:00:00Z
        T-1,GLOBEX,high,open,2026-01-02T00:00:00Z
        """,
    )

    assert [str(p) for p in failure.problems] == [
        "tickets.csv:4: column 'external_id': duplicate: 'T-1' is also on line 2"
    ]


def test_duplicate_account_and_day_in_usage(sqlite_book: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_book,
        "usage",
        tmp_path,
        """\
        account_external_id,date,active_users
        ACME,2026-01-01,1
        GLOBEX,2026-01-01,1
        ACME,2026-1-1,2
        """,
    )

    assert [str(p) for p in failure.problems] == [
        "usage.csv:4: column 'date': duplicate: account 'ACME' on 2026-01-01 is also on line 2"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; the first line must name the columns"),
        (b"  \n\n", "the file is empty; the first line must name the columns"),
        (b"external_id,name,segment,created_on\n", "has a header but no data rows"),
    ],
    ids=["zero-bytes", "blank", "header-only"],
)
def test_empty_file(sqlite_db: Database, tmp_path: Path, content: bytes, message: str) -> None:
    failure = rejected(sqlite_db, "accounts", tmp_path, content)

    assert failure.problems == [Problem("accounts.csv", None, None, message)]


def test_wrong_encoding_names_line_and_byte(sqlite_db: Database, tmp_path: Path) -> None:
    content = (
        "external_id,name,segment,created_on\n"
        "A1,Acme,SMB,2024-01-01\n"
        "A2,Caf\u00e9 Ltd,SMB,2024-01-01\n"
    )

    failure = rejected(sqlite_db, "accounts", tmp_path, content.encode("latin-1"))

    assert [str(p) for p in failure.problems] == [
        "accounts.csv:3: byte 7 of the line (0xE9) is not UTF-8; re-save the file as UTF-8"
    ]


def test_bad_enum_lists_the_allowed_values(sqlite_book: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_book,
        "tickets",
        tmp_path,
        """\
        external_id,account_external_id,priority,status,opened_at
        T-1,ACME,critical,open,2026-01-01T00:00:00Z
        """,
    )

    assert [str(p) for p in failure.problems] == [
        "tickets.csv:2: column 'priority': 'critical' is not one of: low, normal, high, urgent"
    ]


def test_scores_must_be_on_the_survey_scale(sqlite_db: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_db,
        "surveys",
        tmp_path,
        """\
        response_id,survey,score,submitted_at
        r-1,nps,0,2026-11-20T09:30:00Z
        r-2,nps,11,2026-11-20T09:30:00Z
        r-3,csat,0,2026-11-20T09:30:00Z
        r-4,ces,7,2026-11-20T09:30:00Z
        r-5,ces,8,2026-11-20T09:30:00Z
        """,
    )

    assert [str(p) for p in failure.problems] == [
        "surveys.csv:3: column 'score': 11 is outside the NPS scale (0–10)",
        "surveys.csv:4: column 'score': 0 is outside the CSAT scale (1–5)",
        "surveys.csv:6: column 'score': 8 is outside the CES scale (1–7)",
    ]


def test_more_problems_than_the_limit(sqlite_db: Database, tmp_path: Path) -> None:
    body = "".join(f"ACME,2026-02-{day + 30},1\n" for day in range(30))

    failure = rejected(
        sqlite_db,
        "usage",
        tmp_path,
        "account_external_id,date,active_users\n" + body,
        max_problems=5,
    )

    assert [p.line for p in failure.problems] == [2, 3, 4, 5, 6]
    assert (failure.more, failure.stopped) == (25, True)
    assert "… and at least 25 more problems" in str(failure)


def test_end_before_start_and_closed_before_opened(sqlite_book: Database, tmp_path: Path) -> None:
    contracts = rejected(
        sqlite_book,
        "contracts",
        tmp_path,
        "external_id,account_external_id,start_date,end_date,arr\nC-1,ACME,2025-01-01,2024-12-31,1\n",
    )
    tickets = rejected(
        sqlite_book,
        "tickets",
        tmp_path,
        "external_id,account_external_id,priority,status,opened_at,closed_at\n"
        "T-1,ACME,low,closed,2026-01-02T00:00:00Z,2026-01-01T00:00:00Z\n",
    )

    assert [str(p) for p in contracts.problems + tickets.problems] == [
        "contracts.csv:2: column 'end_date': '2024-12-31' is before start_date '2025-01-01'",
        "tickets.csv:2: column 'closed_at': '2026-01-01T00:00:00Z' is before opened_at "
        "'2026-01-02T00:00:00Z'",
    ]


def test_lines_count_physical_lines_of_quoted_values(sqlite_db: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_db,
        "surveys",
        tmp_path,
        """\
        response_id,survey,score,comment,submitted_at
        r-1,nps,9,"Great support,
        really great",2026-11-20T09:30:00Z

        r-2,nps,ten,,2026-11-20T09:30:00Z
        """,
    )

    assert [str(p) for p in failure.problems] == [
        "surveys.csv:5: column 'score': 'ten' is not a whole number"
    ]


def test_a_row_with_too_many_values(sqlite_db: Database, tmp_path: Path) -> None:
    failure = rejected(
        sqlite_db,
        "accounts",
        tmp_path,
        """\
        external_id,name,segment,created_on
        A1,Acme, Inc,SMB,2024-01-01
        """,
    )

    assert [str(p) for p in failure.problems] == [
        "accounts.csv:2: has 5 values but the header has 4 columns "
        "(a value containing a comma must be in double quotes)"
    ]


def test_a_database_error_rolls_everything_back(
    book: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contracts write terms, then movements: a failure in the second undoes the first."""

    def refuse(*_: object) -> None:
        raise IntegrityError("INSERT INTO arr_movements …", {}, Exception("disk full"))

    monkeypatch.setattr("metrics_core.importing.contracts.rebuild_history", refuse)

    failure = rejected(
        book,
        "contracts",
        tmp_path,
        "external_id,account_external_id,start_date,end_date,arr\nC-1,ACME,2025-01-01,2025-12-31,1\n",
    )

    assert [str(p) for p in failure.problems] == [
        "contracts.csv: the database refused the rows: disk full"
    ]
    with snapshot(book) as session:
        assert session.scalar(select(func.count()).select_from(Contract)) == 0


def test_renewal_status_survives_a_reimport_of_other_kinds(book: Database, tmp_path: Path) -> None:
    """Importing accounts again must not touch what contracts derived."""
    run(
        book,
        "contracts",
        tmp_path,
        "external_id,account_external_id,start_date,end_date,arr,status\n"
        "C-1,ACME,2024-01-01,2024-12-31,100,churned\n",
    )
    run(book, "accounts", tmp_path, ACCOUNTS)

    assert _history(book, "ACME")[1] == [str(RenewalStatus.CHURNED)]
    with snapshot(book) as session:
        acme = session.scalars(select(Account).where(Account.external_id == "ACME")).one()
        kinds = session.scalars(select(ArrMovement.kind)).all()
    assert acme.lifecycle_stage is LifecycleStage.CHURNED
    assert sorted(kinds) == [ArrMovementKind.CHURN, ArrMovementKind.NEW]


def test_one_respondent_is_matched_the_same_way_a_webhook_will(
    book: Database, tmp_path: Path
) -> None:
    run(
        book,
        "contacts",
        tmp_path,
        "email,name,account_external_id\njane@partner.example,J,GLOBEX\n",
    )

    with snapshot(book) as session:
        ids = dict(session.execute(select(Account.external_id, Account.id)).all())
        jane = session.scalar(select(Contact.id).where(Contact.email == "jane@partner.example"))
        by_contact = match_respondent(session, "JANE@partner.example")
        by_domain = match_respondent(session, "bob@acme.example")
        by_id = match_respondent(session, "bob@acme.example", "GLOBEX")
        nobody = match_respondent(session, "x@nowhere.example")

    assert (by_contact.account_id, by_contact.contact_id) == (ids["GLOBEX"], jane)
    assert (by_domain.account_id, by_domain.matched_by) == (ids["ACME"], "domain")
    assert (by_id.account_id, by_id.matched_by) == (ids["GLOBEX"], "account_external_id")
    assert (nobody.account_id, nobody.matched_by) == (None, "unmatched")


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        (
            "accounts",
            "external_id,name,domain,segment,seats,created_on\n"
            "A1,Acme,https://acme.example,SMB,-5,2024-01-01\n",
            [
                "accounts.csv:2: column 'domain': 'https://acme.example' is not a domain name "
                "(write it as acme.example, without https:// or @)",
                "accounts.csv:2: column 'seats': '-5' is negative",
            ],
        ),
        (
            "team",
            "email,name\njo.example.com,Jo\njo@example.com,\n",
            [
                "team.csv:2: column 'email': 'jo.example.com' is not an email address",
                "team.csv:3: column 'name': a value is required",
            ],
        ),
        (
            "usage",
            "account_external_id,date,active_users,feature_exports\nACME,2026-01-01,1.5,lots\n",
            [
                "usage.csv:2: column 'active_users': '1.5' is not a whole number",
                "usage.csv:2: column 'feature_exports': 'lots' is not a whole number",
            ],
        ),
        (
            "activities",
            "external_id,account_external_id,kind,occurred_at\nA-1,ACME,call,yesterday\n",
            [
                "activities.csv:2: column 'occurred_at': 'yesterday' is not an ISO 8601 "
                "timestamp (e.g. 2026-11-20T09:30:00Z)"
            ],
        ),
        (
            "contacts",
            f"email,name,account_external_id\na@acme.example,{'x' * 201},ACME\n",
            ["contacts.csv:2: column 'name': is 201 characters long; at most 200 fit"],
        ),
    ],
    ids=["domain-and-negative", "email-and-required", "whole-numbers", "timestamp", "length"],
)
def test_bad_values(
    sqlite_book: Database, tmp_path: Path, kind: str, content: str, expected: list[str]
) -> None:
    failure = rejected(sqlite_book, kind, tmp_path, content)

    assert [str(p) for p in failure.problems] == expected
