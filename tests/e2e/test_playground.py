"""The playground in a real browser: a person types, reads, clicks, and closes the loop.

A real `closeloop serve` process with the playground on, on a free loopback port, over a
copy of the seeded database; headless Chromium (Debian's `chromium`, driven by the
Playwright package) opens the page and does what a person would: asks `health acme` and
reads the score and its chart, simulates a detractor's survey answer, sees its alert,
claims it, and closes it with an outcome. Each step is checked on what the page shows,
and what the page claims is checked against the database and the command line.

Screenshots of each step go to the test's temporary directory; with
`CLOSELOOP_SCREENSHOTS=docs` the README's two pictures (`docs/playground-*.png`) are
written there too. Where Chromium or Playwright is missing the test is skipped; with `CI`
set it fails, because CI must prove the page works.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.served import Served

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
ACME = "ACME"
DEMO_CSM = "U0CSM1"


@pytest.fixture(scope="module")
def chromium() -> Path:
    missing = None
    if importlib.util.find_spec("playwright") is None:
        missing = "the playwright package is not installed (pip install -e '.[dev]')"
    elif not CHROMIUM.is_file():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return CHROMIUM


def _cli(database: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", *args],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"closeloop {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def playground_db(database_file: Path) -> Path:
    """The seeded copy, with two weeks of daily health snapshots for the health chart."""
    _cli(database_file, "snapshot", "--backfill", "14")
    return database_file


async def _shot(page: Page, name: str, directories: list[Path], at: Locator) -> None:
    await at.scroll_into_view_if_needed()
    for directory in directories:
        await page.screenshot(path=directory / f"playground-{name}.png")


def _stored_answer(database: Path, comment: str) -> tuple[str, int, str | None, str | None]:
    """How the simulated answer was stored: provider, score, and its follow-up's state."""
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT r.provider, r.score, f.status, f.outcome FROM survey_responses r "
            "LEFT JOIN follow_ups f ON f.survey_response_id = r.id WHERE r.comment = ?",
            (comment,),
        ).fetchone()
    assert row is not None, "the simulated answer is not in the database"
    return row[0], row[1], row[2], row[3]


async def test_a_person_asks_and_closes_the_loop_in_the_playground(
    chromium: Path, playground_db: Path, processes: list[Served], tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    served = Served({"DATABASE_URL": f"sqlite:///{playground_db}", "CLOSELOOP_PLAYGROUND": "1"})
    processes.append(served)
    asked = asyncio.create_task(asyncio.to_thread(_cli, playground_db, "ask", "health acme"))
    await served.ready()
    console = await asked
    score = re.search(r"Health score: (\S+)", console)
    assert score is not None, console
    shots = [tmp_path]
    if os.environ.get("CLOSELOOP_SCREENSHOTS"):
        shots.append(Path(os.environ["CLOSELOOP_SCREENSHOTS"]))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium))
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1400})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            await page.goto(f"{served.base}/")

            # Act as the demo CSM who owns Acme Corp, by the name the team table gives.
            identity = page.locator("#identity")
            await expect(identity.locator(f'option[value="{DEMO_CSM}"]')).to_have_count(1)
            await identity.select_option(DEMO_CSM)
            me = await identity.locator(f'option[value="{DEMO_CSM}"]').get_attribute("data-name")
            assert me

            # health acme: the score the command line gives, and its chart drawn by plotly.js.
            await page.fill("#text", "health acme")
            await page.press("#text", "Enter")
            answer = page.locator(".entry.bot article.reply").filter(has_text="Acme Corp")
            await expect(answer.locator("h2")).to_contain_text("Acme Corp")
            await expect(answer.locator(".metric .value").first).to_have_text(score.group(1))
            chart = answer.locator("figure.chart").first
            await expect(chart.locator(".plot svg.main-svg").first).to_be_visible()
            figure = json.loads(await chart.locator(".plot").get_attribute("data-figure") or "")
            await expect(chart.locator(".scatterlayer .trace")).to_have_count(len(figure["data"]))
            thresholds = len(figure["layout"]["shapes"])
            assert thresholds > 0  # the health bands' edges
            await expect(chart.locator(".shapelayer path")).to_have_count(thresholds)
            caption = (await chart.locator("figcaption").inner_text()).strip()
            assert caption and caption in console  # the same summary as the terminal's
            await _shot(page, "health", shots, page.locator("header"))

            # A detractor's answer, through the service's own signed webhook.
            comment = "Exports have timed out every morning this week."
            await page.select_option("#survey-account", ACME)
            await page.fill("#survey-score", "2")
            await page.fill("#survey-comment", comment)
            await page.click("#survey button[type=submit]")
            alert = page.locator("article[data-alert]").filter(has_text=comment)
            await expect(alert).to_have_count(1)
            await expect(alert.locator("h2")).to_contain_text("detractor")
            await expect(alert.locator("h2")).to_contain_text("Acme Corp")
            status = alert.locator(".fact").filter(has=page.locator("dt", has_text="Status"))
            await expect(status.locator("dd")).to_contain_text("unclaimed")
            assert _stored_answer(playground_db, comment) == ("generic", 2, "open", None)

            # Claim: the clicker is told, and the alert shows its owner.
            await alert.locator("button", has_text="Claim").click()
            await expect(status.locator("dd")).to_have_text(re.compile(f"^Claimed by {me}"))
            await expect(page.locator(".notice").last).to_contain_text(me)
            await expect(alert.locator("button", has_text="Claim")).to_have_count(0)
            await _shot(page, "claimed", [tmp_path], alert)

            # Close, which asks its outcome first.
            await alert.locator("button", has_text="Close").click()
            form = page.locator("form.ask")
            outcome = form.locator("select[name=outcome]")
            await expect(outcome).to_be_visible()
            chosen = await outcome.locator("option").nth(1).get_attribute("value")
            assert chosen
            await outcome.select_option(chosen)
            await form.locator("textarea[name=note]").fill("Called them; the export job is fixed.")
            await form.locator("button[type=submit]").click()
            closed = f"Closed by {me}: {chosen.replace('_', ' ')}"
            await expect(status.locator("dd")).to_contain_text(closed)
            await expect(alert.locator("button", has_text="Close")).to_have_count(0)
            await expect(form).to_have_count(0)
            await _shot(page, "alert", shots, alert)
            assert _stored_answer(playground_db, comment) == ("generic", 2, "closed", chosen)
            assert problems == []
        finally:
            await browser.close()
