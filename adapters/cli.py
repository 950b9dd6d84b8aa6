"""The `closeloop` command line: a thin shell over the composition root.

Heavy modules (pandas, aiohttp, the bot) are imported inside the commands that need
them, so `closeloop --help` answers at once and nothing runs at import time.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from adapters.settings import Settings
    from metrics_core.config import Config

app = typer.Typer(
    name="closeloop",
    help="Customer-success metrics and closed-loop survey follow-up in Slack and Teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Answers are read by people and by scripts: never wrap them at the terminal's width.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    from adapters.settings import Settings

    return Settings()


def _config(settings: Settings) -> Config:
    from metrics_core.config import ConfigError, load_config

    try:
        return load_config(settings.config_path)
    except ConfigError as error:
        raise _fail(str(error)) from None


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every schema check at INFO; operators need only its warnings.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest revision."""
    from metrics_core import migrate as migrations
    from metrics_core.db import make_engine

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
    from metrics_core.db import make_engine
    from metrics_core.migrate import SchemaOutOfDate, ensure_schema

    engine = make_engine(_settings().database_url)
    try:
        ensure_schema(engine)
    except SchemaOutOfDate as error:
        engine.dispose()
        raise _fail(str(error)) from None
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

    from metrics_core.migrate import clear_data
    from metrics_core.synthetic import DatabaseNotEmpty, seed_database

    if if_empty and replace:
        raise _fail("--if-empty and --replace contradict each other", code=2)
    engine = _ready_engine()
    day = as_of.date() if as_of else dt.datetime.now(dt.UTC).date()
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
        f"{summary.tickets:,} tickets, {summary.survey_responses:,} survey responses and "
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
    from metrics_core.daily import take_snapshot
    from metrics_core.db import Database
    from metrics_core.risk import RiskModels

    settings = _settings()
    config = _config(settings)
    engine = _ready_engine()
    day = as_of.date() if as_of else dt.datetime.now(dt.UTC).date()
    try:
        with err.status("Scoring …") as status:
            run = take_snapshot(
                Database(engine),
                RiskModels(config),
                config,
                day,
                dt.datetime.now(dt.UTC),
                backfill=backfill,
                default_slack_channel=settings.slack_alerts_channel,
                progress=lambda d: status.update(f"Scored {d:%Y-%m-%d}"),
            )
    finally:
        engine.dispose()
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

    KIND is one of: team, accounts, contacts, contracts, usage, tickets, surveys, activities.
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
        err.print(f"[bold red]{file}: nothing was imported.[/]", highlight=False)
        for line in failure.summary().splitlines()[:-1]:  # the last says nothing was imported
            err.print(f"  {line}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(
        f"Imported {result.rows:,} {kind} rows from {file} ({result.inserted:,} new, "
        f"{result.updated:,} updated) in {result.seconds:.1f} s."
    )


@app.command()
def ask(
    text: Annotated[list[str], typer.Argument(help="The command, e.g. `health acme`.")],
    user: Annotated[
        str | None, typer.Option("--user", help="Answer as this Slack user id (e.g. U0CSM1).")
    ] = None,
) -> None:
    """Run one command through the bot core and print the reply as text."""
    import asyncio

    from adapters.bootstrap import build
    from adapters.console import render_text
    from bot.requests import Actor, CommandRequest, Platform

    settings = _settings()
    _configure_logging("WARNING")
    container = build(settings, _config(settings))
    request = CommandRequest.parse(" ".join(text), Actor(Platform.CONSOLE, user_id=user))
    try:
        reply = asyncio.run(container.router.handle(request))
    finally:
        container.close()
    out.print(render_text(reply), highlight=False, markup=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the HTTP endpoints (default 127.0.0.1:3000)."""
    import asyncio

    from adapters.serve import run
    from adapters.teams.app import TeamsSettingsError
    from metrics_core.migrate import SchemaOutOfDate

    settings = _settings()
    config = _config(settings)
    _configure_logging(settings.log_level)
    try:
        asyncio.run(run(settings, config, host or settings.host, port or settings.port))
    except (SchemaOutOfDate, TeamsSettingsError) as error:
        raise _fail(str(error)) from None


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

    from metrics_core.db import Database
    from metrics_core.risk import Method, backtest

    settings = _settings()
    config = _config(settings)
    engine = _ready_engine()
    day = as_of.date() if as_of else dt.datetime.now(dt.UTC).date()
    db = Database(engine)
    try:
        with err.status("Training and testing …"), db.reading() as session:
            report = backtest(session, day, config)
    finally:
        db.close()
    if report is None:
        raise _fail("not enough renewal history for a backtest (needs three past cut-offs)")
    method = (
        "logistic regression"
        if report.method is Method.MODEL
        else "rule-based risk (too few churned accounts in the training window for a model)"
    )
    out.print(f"Method: {method}")
    out.print(
        f"Trained on {report.train_rows:,} rows with renewals up to {report.split:%Y-%m-%d}; "
        f"tested on {report.test_rows:,} rows with renewals after it "
        f"(churn rate {report.base_rate:.1%})."
    )
    out.print(f"ROC AUC: {'—' if report.auc is None else f'{report.auc:.3f}'}")
    if report.top_decile_precision is not None and report.top_decile_recall is not None:
        out.print(
            f"Top decile by risk: precision {report.top_decile_precision:.1%} "
            f"(vs {report.base_rate:.1%} at random), recall {report.top_decile_recall:.1%}"
        )
    table = Table("Predicted", "Rows", "Mean predicted", "Observed", title="Calibration")
    for row in report.calibration.itertuples():
        table.add_row(
            f"{row.bin_low:.0%}–{row.bin_high:.0%}",
            f"{row.count:,}",
            f"{row.mean_predicted:.1%}",
            f"{row.observed_rate:.1%}",
        )
    out.print(table)


@app.command()
def bench(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run just these cases (repeatable).")
    ] = None,
    scale: Annotated[
        float,
        typer.Option(min=0.001, max=1.0, help="Shrink every case (1.0 = the targets' sizes)."),
    ] = 1.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results to this JSON file.")
    ] = None,
) -> None:
    """Run the benchmark suite and print the results against their targets."""
    import json
    from dataclasses import asdict

    from rich.table import Table

    from adapters.bench import CASES, run_case

    names = only or list(CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        raise _fail(f"unknown case {', '.join(unknown)}; cases: {', '.join(CASES)}", code=2)
    table = Table("Case", "Metric", "Value", "Target", "")
    results = []
    for name in names:
        err.print(f"Running {name} …")
        for m in run_case(name, scale):
            results.append(m)
            target = "" if m.limit is None else f"≤ {m.limit:,.0f} {m.unit}"
            verdict = {True: "[green]ok[/]", False: "[red]over[/]", None: ""}[m.ok]
            value = f"{m.value:,.0f}" if abs(m.value) >= 1000 else f"{m.value:,.1f}"
            table.add_row(m.case, m.metric, f"{value} {m.unit}", target, verdict)
    out.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps([asdict(m) for m in results], indent=2))
    if any(m.ok is False for m in results):
        raise typer.Exit(1)


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
    from adapters.teams.package import PackageError, build_package

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
