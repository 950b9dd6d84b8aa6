"""The `closeloop` command line: a thin shell over the composition root.

Heavy modules (pandas, aiohttp, the bot) are imported inside the commands that need
them, so `closeloop --help` answers at once and nothing runs at import time.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from adapters.platforms.console import terminal_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

    from adapters.settings import Settings
    from metrics_core.churn.risk import Backtest
    from metrics_core.config import Config

# Answers are read by people and by scripts: never wrap them at the terminal's width.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEBUG_HINT = "CLOSELOOP_LOG_LEVEL=DEBUG shows where"


def _describe(error: BaseException) -> str:
    """An error in one line: its type and the first line of its message (SQL errors go on
    with the statement and a link, which say nothing to the person who ran the command)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _debugging() -> bool:
    from adapters.settings import Settings

    try:
        return Settings().log_level.strip().upper() == "DEBUG"
    except Exception:  # a bad setting is reported by the command that reads it
        return False


class _ReportedGroup(TyperGroup):
    """Runs a command so that an error nobody foresaw ends as one line and exit status 1.

    A traceback tells the person at the terminal nothing they can act on; whoever debugs
    sets CLOSELOOP_LOG_LEVEL=DEBUG and gets it. Exits, aborts and usage errors pass as
    Typer means them.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as error:
            if _debugging():
                raise
            raise _fail(f"{_describe(error)} ({DEBUG_HINT})") from None


app = typer.Typer(
    name="closeloop",
    help="Customer-success metrics and closed-loop survey follow-up in Slack and Teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_ReportedGroup,
)


def _settings() -> Settings:
    from pydantic import ValidationError

    from adapters.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        # Name each bad setting and what is wrong, never the value: it may be a secret.
        # A problem with several settings together has no single name; its message names them.
        problems = "; ".join(
            ": ".join(
                part
                for part in (
                    ".".join(str(part) for part in problem["loc"]),
                    problem["msg"].removeprefix("Value error, "),
                )
                if part
            )
            for problem in error.errors()
        )
        raise _fail(f"bad setting {problems}") from None


def _config(settings: Settings) -> Config:
    from metrics_core.config import ConfigError, load_config

    try:
        return load_config(settings.config_path)
    except ConfigError as error:
        raise _fail(str(error)) from None


class _OneLineErrors(logging.Formatter):
    """Log records as single lines: an exception as its type and message, not a traceback.

    For commands run at a terminal, where the log is read by the person who typed the
    command; the service keeps whole tracebacks for its operators.
    """

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info or record.exc_info[1] is None:
            return super().format(record)
        error = record.exc_info[1]
        plain = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return f"{super().format(plain)}: {_describe(error)}"


def _configure_logging(level: str, *, tracebacks: bool = True) -> None:
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt) if tracebacks else _OneLineErrors(fmt))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # Alembic narrates every schema check at INFO; operators need only its warnings.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


def _configure_service_logging(settings: Settings) -> None:
    """The service logs JSON lines (or text at a terminal), each with its request id,
    every configured secret's value redacted (README: Operations)."""
    from adapters.observability.logs import service_handler

    fmt = settings.log_format
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = service_handler(fmt, settings.secret_values())
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Exit with `message` as one red line; what it quotes (paths, names) is shown as text."""
    shown = escape(terminal_text(message))
    err.print(f"[bold red]error:[/] {shown}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest revision."""
    from metrics_core.store import migrate as migrations
    from metrics_core.store.db import make_engine

    engine = make_engine(_settings().database_url)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        out.print(f"Schema already at the latest revision ({after}).")
    else:
        out.print(f"Schema upgraded from {before or 'empty'} to {after}.")


def _ready_engine() -> Engine:
    """The database for commands that load data: they may create its schema when empty."""
    from metrics_core.store.db import make_engine
    from metrics_core.store.migrate import SchemaOutOfDate, ensure_schema

    engine = make_engine(_settings().database_url)
    try:
        ensure_schema(engine)
    except SchemaOutOfDate as error:
        engine.dispose()
        raise _fail(str(error)) from None
    return engine


HOW_TO_CREATE = (
    "`closeloop migrate`, then `closeloop seed` for the demo data or "
    "`closeloop import KIND FILE` for yours; `make run` does both"
)


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, or None (another database, in memory, a `file:` URI)."""
    from metrics_core.store.db import normalise_url

    parsed = normalise_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return None if database.startswith("file:") else Path(database)


def _where(url: str) -> str:
    """The database as a person can find it: a SQLite file's full path, else the URL
    without its password."""
    from metrics_core.store.db import normalise_url

    path = _sqlite_file(url)
    if path is not None:
        return str(path.resolve())
    return normalise_url(url).render_as_string(hide_password=True)


def _existing_engine(settings: Settings, *, needs_data: bool = True) -> Engine:
    """The database for commands that only read it (and `serve`): it must exist already.

    They never create one: SQLite would leave an empty file wherever the command happened
    to run, and the next question would be answered from nothing. A missing database, one
    without the schema, or (when `needs_data`) one without any account stops the command
    with one line that says how to make it.
    """
    from sqlalchemy import exists, select
    from sqlalchemy.exc import SQLAlchemyError

    from metrics_core.store.db import make_engine
    from metrics_core.store.migrate import SchemaOutOfDate, current_revision, require_head
    from metrics_core.store.models import Account

    url = settings.database_url
    where = _where(url)
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        raise _fail(
            f"no database at {where} (DATABASE_URL). Run where it is, or create it: "
            f"{HOW_TO_CREATE}."
        )
    engine = make_engine(url)
    try:
        if current_revision(engine) is None:
            raise _fail(f"{where} has no Closeloop schema. Create it: {HOW_TO_CREATE}.")
        require_head(engine)
        if needs_data:
            with engine.connect() as connection:
                if not connection.scalar(select(exists().where(Account.id.is_not(None)))):
                    raise _fail(
                        f"{where} has no accounts yet. Load the demo data with `closeloop seed` "
                        "or yours with `closeloop import KIND FILE`."
                    )
    except SchemaOutOfDate as error:
        engine.dispose()
        raise _fail(str(error)) from None
    except SQLAlchemyError as error:
        engine.dispose()
        raise _fail(f"cannot read the database at {where}: {_describe(error)}") from None
    except typer.Exit:
        engine.dispose()
        raise
    return engine


@app.command()
def seed(
    accounts: Annotated[int, typer.Option(min=1, help="How many accounts to generate.")] = 500,
    days: Annotated[int, typer.Option(min=1, help="Days of usage history, ending today.")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 7,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The last day of history (default: today, UTC)."),
    ] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already has accounts.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete all existing data first.")
    ] = False,
) -> None:
    """Load a deterministic synthetic data set (always includes Acme Corp and CSMs U0CSM1-8)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from metrics_core.store.migrate import clear_data
    from metrics_core.synthetic import DatabaseNotEmpty, seed_database

    if if_empty and replace:
        raise _fail("--if-empty and --replace contradict each other", code=2)
    from metrics_core.clock import utc_today

    engine = _ready_engine()
    day = as_of.date() if as_of else utc_today()
    try:
        if replace:
            clear_data(engine)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("Generating", total=None)

            def report(stage: str, rows: int) -> None:
                progress.update(task, description=f"Generating {stage}", advance=rows)

            summary = seed_database(
                engine, accounts=accounts, days=days, seed=seed, as_of=day, progress=report
            )
    except DatabaseNotEmpty as error:
        if if_empty:
            out.print(f"Nothing loaded: the database already has {error.accounts:,} accounts.")
            return
        raise _fail(f"{error}; use --replace to start over or --if-empty to skip") from None
    finally:
        engine.dispose()
    out.print(
        f"Seeded {summary.accounts:,} accounts, {summary.usage_rows:,} usage rows, "
        f"{summary.tickets:,} tickets, {summary.survey_responses:,} survey responses "
        f"({summary.follow_ups:,} followed up by the demo team) and "
        f"{summary.activities:,} activities in {summary.seconds:.1f} s."
    )


@app.command()
def snapshot(
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The day to score (default: today, UTC)."),
    ] = None,
    backfill: Annotated[
        int, typer.Option(min=0, help="Also score this many earlier days that have no snapshot.")
    ] = 0,
) -> None:
    """Store every customer's health for a day, so trends and movers come from history.

    Accounts whose health moved to a worse band, or whose usage dropped, since the day
    before are then queued as alerts; the running service delivers them.
    """
    from adapters.bootstrap import build_core
    from metrics_core.health.daily import take_snapshot

    settings = _settings()
    config = _config(settings)
    _existing_engine(settings).dispose()
    core = build_core(settings, config)
    day = as_of.date() if as_of else core.clock().date()
    try:
        with err.status("Scoring …") as status:
            run = take_snapshot(
                core.db,
                core.risk,
                config,
                day,
                core.clock(),
                backfill=backfill,
                fallback=core.alerts_fallback,
                progress=lambda d: status.update(f"Scored {d:%Y-%m-%d}"),
            )
    finally:
        core.close()
    done, alerts = run.days, run.alerts
    out.print(f"Stored health snapshots for {len(done)} day(s), up to {day:%Y-%m-%d}.")
    if alerts:
        out.print(f"Queued {alerts} account alert(s) (health band changes, usage drops).")


@app.command(name="import")
def import_(
    kind: Annotated[
        str, typer.Argument(help="What the file holds; see `closeloop import --help`.")
    ],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a CSV file, all or nothing: a bad file writes no row and names every problem.

    KIND is one of: team, accounts, contacts, contracts, usage, tickets, surveys, activities,
    cs_costs, success_plans, advocacy.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from metrics_core.importing import KINDS, ImportFailed, import_csv

    if kind not in KINDS:
        raise _fail(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}", code=2)
    engine = _ready_engine()
    try:
        with Progress(
            *Progress.get_default_columns()[:1],
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task(f"Importing {kind}", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = import_csv(engine, kind, file, progress=report)
    except ImportFailed as failure:
        shown = escape(terminal_text(str(file)))
        err.print(f"[bold red]{shown}: nothing was imported.[/]", highlight=False)
        for line in failure.summary().splitlines()[:-1]:  # the last says nothing was imported
            err.print(f"  {terminal_text(line)}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(terminal_text(result.summary(str(file))), highlight=False, markup=False)


@app.command()
def ask(
    text: Annotated[list[str], typer.Argument(help="The command, e.g. `health acme`.")],
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Ask as this Slack user id; in the demo data U0CSM1 is Dana Whitfield, "
            "who owns Acme Corp.",
        ),
    ] = None,
) -> None:
    """Run one command through the bot core and print the reply as text.

    Exits with status 1 when the reply is not an answer (not understood, nothing found,
    failed), so scripts can tell; the reply itself says why.
    """
    import asyncio

    from adapters.bootstrap import build_console
    from adapters.platforms.console import render_text
    from bot.inbound import Actor, CommandRequest, Platform
    from bot.reply import Outcome

    settings = _settings()
    debugging = settings.log_level.strip().upper() == "DEBUG"
    _configure_logging("DEBUG" if debugging else "WARNING", tracebacks=debugging)
    config = _config(settings)
    _existing_engine(settings).dispose()
    console = build_console(settings, config)
    request = CommandRequest.parse(" ".join(text), Actor(Platform.CONSOLE, user_id=user))
    try:
        reply = asyncio.run(console.router.handle(request))
    finally:
        console.close()
    out.print(render_text(reply), highlight=False, markup=False)
    if reply.outcome is not Outcome.ANSWER:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the HTTP endpoints (default 127.0.0.1:3000)."""
    settings = _settings()
    _serve(settings, _config(settings), host or settings.host, port or settings.port)


def _serve(
    settings: Settings,
    config: Config,
    host: str,
    port: int,
    *,
    listening: Callable[[str], None] | None = None,
) -> None:
    import asyncio

    from adapters.entrypoints.serve import check_playground, run
    from adapters.platforms.teams.app import TeamsSettingsError
    from adapters.platforms.web.app import PlaygroundRefused
    from metrics_core.store.migrate import SchemaOutOfDate

    try:
        check_playground(settings, host)
    except PlaygroundRefused as error:
        raise _fail(str(error)) from None
    _configure_service_logging(settings)
    # An empty database is fine for a service (answers and imports fill it); none is not.
    _existing_engine(settings, needs_data=False).dispose()
    try:
        asyncio.run(run(settings, config, host, port, listening=listening))
    except (SchemaOutOfDate, TeamsSettingsError, PlaygroundRefused) as error:
        raise _fail(str(error)) from None


DEMO_QUESTIONS = ("health acme", "churn top")
"""What `closeloop demo` answers before it serves: one account, then the whole book."""


def _print_answers(settings: Settings, config: Config, questions: tuple[str, ...]) -> None:
    """Each question as `closeloop ask` answers it, with the command that asks it."""
    import asyncio

    from adapters.bootstrap import build_console
    from adapters.platforms.console import render_text
    from bot.inbound import Actor, CommandRequest, Platform

    console = build_console(settings, config)

    async def answers() -> list[str]:
        actor = Actor(Platform.CONSOLE)
        return [
            render_text(await console.router.handle(CommandRequest.parse(text, actor)))
            for text in questions
        ]

    try:
        replies = asyncio.run(answers())
    finally:
        console.close()
    for text, reply in zip(questions, replies, strict=True):
        out.print(f"\n$ closeloop ask {text!r}", style="bold", highlight=False, markup=False)
        out.print(reply, highlight=False, markup=False)


def _announce(url: str, *, browser: bool) -> None:
    """Say where the playground is and, if asked, open it in a browser when this machine
    has a graphical one. Never fails and never waits: without a display (a server, a
    container) Python would start a text browser in this very terminal, so none is
    started there."""
    import os
    import threading
    import webbrowser

    out.print(f"\nThe playground is at {url} (no login; Ctrl+C stops the service).")
    graphical = not sys.platform.startswith("linux") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY")
    )
    if not (browser and graphical):
        return

    def start() -> None:
        try:
            webbrowser.open(url, new=2)
        except Exception:  # no browser is fine: the URL is printed above
            return

    threading.Thread(target=start, name="open-browser", daemon=True).start()


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to serve on (on 127.0.0.1).")] = 3000,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the playground in a browser.")
    ] = True,
) -> None:
    """Try Closeloop without Slack or Teams: create the database if needed, load the demo data
    when it is empty, print a few answers, and serve the playground on 127.0.0.1:3000.

    The same as `closeloop migrate`, `closeloop seed --if-empty`, `closeloop snapshot
    --backfill 90` (the 90 days a health chart shows), then `closeloop serve` with
    CLOSELOOP_PLAYGROUND=1.
    """
    migrate()
    seed(if_empty=True)
    snapshot(backfill=90)
    settings = _settings().model_copy(update={"playground": True})
    config = _config(settings)
    _print_answers(settings, config, DEMO_QUESTIONS)
    _serve(settings, config, "127.0.0.1", port, listening=partial(_announce, browser=browser))


model_app = typer.Typer(help="The churn-risk model.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("evaluate")
def model_evaluate(
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Evaluate as of this day (default: today, UTC)."),
    ] = None,
) -> None:
    """Backtest the churn model on renewals it never saw: ROC AUC, top decile, calibration."""
    from rich.table import Table

    from adapters.bootstrap import build_core
    from metrics_core.churn.risk import backtest

    settings = _settings()
    config = _config(settings)
    _existing_engine(settings).dispose()
    core = build_core(settings, config)
    day = as_of.date() if as_of else core.clock().date()
    try:
        with err.status("Training and testing …"), core.db.reading() as session:
            report = backtest(session, day, config)
    finally:
        core.close()
    if report is None:
        raise _fail(
            "not enough renewal history for a backtest: it needs renewals decided on four "
            "or more past month-ends with usage before them"
        )
    for line in backtest_lines(report):
        out.print(line)
    table = Table(
        "Predicted", "Predictions", "Renewals", "Mean predicted", "Observed", title="Calibration"
    )
    for row in report.calibration.itertuples():
        table.add_row(
            f"{row.bin_low:.0%}–{row.bin_high:.0%}",
            f"{row.count:,}",
            f"{row.groups:,}",
            f"{row.mean_predicted:.1%}",
            f"{row.observed_rate:.1%}",
        )
    out.print(table)


def backtest_lines(report: Backtest) -> list[str]:
    """The backtest's findings as sentences a CS leader can quote."""
    from metrics_core.churn.risk import Method

    method = (
        "logistic regression, calibrated on held-out time"
        if report.method is Method.MODEL
        else "rule-based risk (too few churned accounts for a model)"
    )
    replayed = [day for day, used in report.origins if used is report.method]
    other = len(report.origins) - len(replayed)
    lines = [
        f"Method answering today: {method}.",
        f"Replayed {len(report.origins)} past month-ends from {report.split:%Y-%m-%d}, each "
        "with only the renewals decided by then"
        + (f" ({other} of them still had too little history for this method)." if other else "."),
        f"Tested on {report.test_rows:,} predictions about {report.test_renewals:,} renewals "
        f"(churn rate {report.base_rate:.1%}, mean predicted {report.mean_predicted:.1%}).",
        f"ROC AUC: {'—' if report.auc is None else f'{report.auc:.3f}'}",
    ]
    if report.top_decile_precision is not None and report.top_decile_recall is not None:
        lines.append(
            f"Top decile by risk: precision {report.top_decile_precision:.1%} "
            f"(vs {report.base_rate:.1%} at random), recall {report.top_decile_recall:.1%}"
        )
    return lines


def _benchmark_harness() -> Any:
    """The harness in `benchmarks/` of the source checkout: the wheel does not ship it."""
    import importlib
    import sys

    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "benchmarks" / "harness.py").is_file():
        raise _fail(
            "the benchmark harness lives in the source checkout (benchmarks/), which this "
            "installation does not have: run `make bench` in a clone of the repository"
        )
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    return importlib.import_module("benchmarks.harness")


@app.command()
def bench(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run just these cases (repeatable).")
    ] = None,
    scale: Annotated[
        float,
        typer.Option(
            min=0.001,
            max=1.0,
            help="Shrink every case (1.0 = the targets' sizes: 10,000 accounts, 1,000,000 rows).",
        ),
    ] = 1.0,
    accounts: Annotated[
        list[int] | None,
        typer.Option(
            "--accounts",
            min=50,
            max=1_000_000,
            help="Books of this many accounts × 365 days (repeatable: a growth table follows).",
        ),
    ] = None,
    on: Annotated[
        str,
        typer.Option(
            "--on",
            help="sqlite, postgresql (in throwaway schemas of the DATABASE_URL database) or both.",
        ),
    ] = "sqlite",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results to this JSON file.")
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Also write the tables to this Markdown file."),
    ] = None,
    book: Annotated[
        str | None,
        typer.Option(
            "--book",
            help="Measure this freshly seeded database (a copy: the cases write to it) "
            "instead of seeding a book; its size is counted.",
        ),
    ] = None,
    compare: Annotated[
        list[Path] | None,
        typer.Option(
            "--compare", help="Results of earlier --json runs (other sizes) for the growth table."
        ),
    ] = None,
) -> None:
    """Run the benchmark suite and print the results against their targets."""
    import json
    from dataclasses import asdict

    harness = _benchmark_harness()
    names = only or list(harness.CASES)
    unknown = sorted(set(names) - set(harness.CASES))
    if unknown:
        raise _fail(f"unknown case {', '.join(unknown)}; cases: {', '.join(harness.CASES)}", code=2)
    databases = {"sqlite": ["SQLite"], "postgresql": ["PostgreSQL"]}.get(
        on, ["SQLite", "PostgreSQL"] if on == "both" else []
    )
    if not databases:
        raise _fail(f"--on {on!r}: use sqlite, postgresql or both", code=2)
    sizes = sorted(set(accounts or [max(50, int(harness.FULL_BOOK * scale))]))
    if book is not None and (accounts or on != "sqlite"):
        raise _fail("--book measures the book it names: no --accounts or --on with it", code=2)
    try:
        earlier = [harness.read_results(path) for path in compare or []]
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise _fail(f"--compare: {error}", code=2) from None
    try:
        if "PostgreSQL" in databases and book is None:
            harness.postgres_server()
        plan = harness.Plan(cases=names, sizes=sizes, databases=databases, scale=scale, book=book)
        results = harness.run(plan, progress=lambda line: err.print(line))
    except harness.BenchError as error:
        if error.measured:  # what the cases before the failed one measured still counts
            out.print(_bench_table(error.measured))
            if json_out is not None:
                json_out.write_text(json.dumps([asdict(m) for m in error.measured], indent=2))
        raise _fail(str(error)) from None
    out.print(_bench_table(results))
    together = [m for found in earlier for m in found] + results
    sizes = sorted({m.accounts for m in together})
    growth = harness.growth(together) if len(sizes) > 1 else []
    if growth:
        out.print(_growth_table(growth, sizes))
    if json_out is not None:
        json_out.write_text(json.dumps([asdict(m) for m in results], indent=2))
    if markdown is not None:
        markdown.write_text(_bench_markdown(results, growth, sizes), encoding="utf-8")
    if any(m.ok is False for m in results):
        raise typer.Exit(1)


def _bench_value(value: float, unit: str) -> str:
    number = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.1f}"
    return f"{number} {unit}"


def _bench_rows(results: list[Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for m in results:
        target = "" if m.limit is None else f"≤ {_bench_value(m.limit, m.unit)}"
        verdict = {True: "ok", False: "over", None: ""}[m.ok]
        rows.append((m.case, m.metric, _bench_value(m.value, m.unit), target, verdict))
    return rows


def _bench_table(results: list[Any]) -> Any:
    from rich.table import Table

    table = Table("Case", "Metric", "Value", "Target", "")
    for case, metric, value, target, verdict in _bench_rows(results):
        colour = {"ok": "[green]ok[/]", "over": "[red]over[/]"}.get(verdict, "")
        table.add_row(case, metric, value, target, colour)
    return table


def _growth_cells(values: list[float | None], unit: str) -> list[str]:
    return ["—" if v is None else _bench_value(v, unit) for v in values]


def _growth_table(growth: list[Any], sizes: list[int]) -> Any:
    from rich.table import Table

    table = Table("Case", "Metric", *(f"{size:,} accounts" for size in sizes), "Growth")
    for case, metric, unit, values, verdict in growth:
        table.add_row(case, metric, *_growth_cells(values, unit), verdict)
    return table


def _bench_markdown(results: list[Any], growth: list[Any], sizes: list[int]) -> str:
    lines = ["| case | metric | value | target | |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in _bench_rows(results)]
    if growth:
        header = ["case", "metric", *(f"{size:,} accounts" for size in sizes), "growth"]
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for case, metric, unit, values, verdict in growth:
            cells = [case, metric, *_growth_cells(values, unit), verdict]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@app.command(name="teams-package")
def teams_package(
    app_id: Annotated[
        str | None,
        typer.Option("--app-id", help="The bot's Microsoft App ID (default: MICROSOFT_APP_ID)."),
    ] = None,
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the app package (a .zip).")
    ] = Path("closeloop-teams.zip"),
) -> None:
    """Build the Teams app package (manifest and icons) to upload in Teams."""
    from adapters.platforms.teams.package import PackageError, build_package

    app_id = app_id or _settings().microsoft_app_id
    if not app_id:
        raise _fail("no Microsoft App ID: pass --app-id or set MICROSOFT_APP_ID", code=2)
    try:
        path = build_package(app_id, out_file)
    except PackageError as error:
        raise _fail(str(error), code=2) from None
    out.print(f"Teams app package written to {path}; upload it in Teams under Apps.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
