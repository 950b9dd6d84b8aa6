"""`kpis [period] [segment]`: the numbers a CS leader is held to, for a period.

The answer opens with the chain in three lines, from what the team does to what it earns:
Activities (touchpoints with customers), Leading indicators (adoption, health and the
share in red, NPS with its interval) and Lagging outcomes (GRR, NRR, logo churn,
expansion, cost to retain, advocacy); the details of the outcomes follow. Every part of
the answer covers the period and segment asked: retention over the period, cost to
retain over the same days, the books as they stood at its end and the touchpoints of its
last months. A number whose input nobody gave (no CS cost recorded)
says what is missing and how to provide it instead of being computed from zero. A chart
of NRR and GRR by quarter, up to the period's last quarter, shows where the period's
numbers sit in the trend; its quarters use the headline's definition, so `kpis 2026-q3`
reads the same NRR in the metric and in the chart's last point.
"""

from __future__ import annotations

import datetime as dt
import functools

from bot.args import PERIOD_FORMS, Period, parse_scope, period_problem, trailing
from bot.context import BotContext
from bot.formatting import count, echoed, interval, money, percent, signed
from bot.handlers.value import advocacy_table, by_segment_text, tally_text
from bot.inbound import CommandRequest
from bot.reply import Chart, ChartKind, Fact, Metric, Outcome, Reply, Series, Table, Tone
from metrics_core.config import Config
from metrics_core.revenue.efficiency import CostToRetain
from metrics_core.revenue.kpis import Activities, KpiReport, Leading, QuarterRetention, kpi_report
from metrics_core.revenue.renewals import AtStake
from metrics_core.store.models import Segment
from metrics_core.value.advocacy import AdvocacyCounts

USAGE = "kpis [period] [segment]"
DEFAULT_DAYS = 365
CS_COST_HOW = (
    "import it with `closeloop import cs_costs FILE` "
    "(columns period_start, period_end, amount, segment)"
)
"""How a missing CS cost gets in: said wherever cost to retain cannot be computed."""
BOOKS_SHOWN = 10


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _days(start: dt.date, end: dt.date) -> str:
    """[start, end) as people write a range of days: `1 Jul – 31 Dec 2025`."""
    last = end - dt.timedelta(days=1)
    if start == last:
        return _day(start)
    first = f"{start.day} {start:%b}" if start.year == last.year else _day(start)
    return f"{first} – {_day(last)}"


def _month(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def _touch_table(data: KpiReport, scope: str) -> tuple[Table, str | None]:
    """Touchpoints per CSM per month: a month a column, calls/QBRs/trainings/emails per cell.

    Months before the first recorded touchpoint are left out and named in the note
    returned with the table: zeros there would claim a silence nobody recorded.
    """
    months = [_month(month) for month in data.touch_months]
    recorded = {_month(touches.month) for touches in data.touches}
    first = next(position for position, month in enumerate(months) if month in recorded)
    note = None
    if first:
        before = months[:first]
        named = before[0] if len(before) == 1 else f"{before[0]} to {before[-1]}"
        note = f"No touchpoints recorded in {named}."
        months = months[first:]
    cells: dict[str, dict[str, str]] = {}
    for touches in data.touches:
        cells.setdefault(touches.csm, {})[_month(touches.month)] = (
            f"{touches.calls}/{touches.qbrs}/{touches.trainings}/{touches.emails}"
        )
    table = Table(
        ("CSM", *months),
        tuple((csm, *(cells[csm].get(m, "0/0/0/0") for m in months)) for csm in sorted(cells)),
        title=f"Touchpoints per month — {scope}, {_days(data.touch_start, data.touch_end)} "
        "(calls/QBRs/trainings/emails)",
    )
    return table, note


def _tone(ratio: float | None, good: float, fair: float) -> Tone:
    if ratio is None:
        return Tone.NEUTRAL
    return Tone.GOOD if ratio >= good else Tone.WARNING if ratio >= fair else Tone.BAD


async def kpis_command(request: CommandRequest, context: BotContext) -> Reply:
    today = context.today()
    scope = parse_scope(request.args, today)
    if (problem := period_problem(scope, today)) is not None:
        return problem
    segment = scope.segment
    if scope.rest:
        return Reply(
            heading=f"I don't understand “{echoed(scope.rest[0])}”",
            paragraphs=(
                f"Usage: `{USAGE}`; a period like {PERIOD_FORMS}, or “last quarter”, "
                "and a segment: Enterprise, Mid-market or SMB.",
            ),
            outcome=Outcome.PROBLEM,
        )
    period = scope.period or trailing(today, DEFAULT_DAYS, "last 12 months")
    # A period that runs up to today also looks ahead, with the churn model of the day.
    model = await context.churn_model(today) if period.end > today else None
    data = await context.db.read(
        functools.partial(
            kpi_report,
            start=period.start,
            end=period.end,
            segment=segment,
            today=today,
            config=context.config,
            model=model,
        )
    )
    return kpis_reply(data, period, segment, today, context.config)


def _cost_to_retain(crc: CostToRetain, scope: str, period: Period) -> str:
    if crc.covered_days == 0:
        return f"no CS cost recorded for {scope}, {period.label}; {CS_COST_HOW}"
    if crc.ratio is None:
        return crc.missing or "no ARR managed in the period"
    text = f"{percent(crc.ratio)} of ARR managed, annualised — {crc.position}"
    if crc.covered_days < crc.days:
        text += f" (CS cost recorded for {crc.covered_days} of the period's {crc.days} days)"
    return text


def _clv(value: float | None, config: Config) -> str:
    if value is None:
        return "— (no customer churned in the period, so no lifetime to estimate)"
    margin = percent(config.revenue.gross_margin, 0)
    if "gross_margin" in config.revenue.model_fields_set:
        return f"{money(value, config.revenue.currency)} at {margin} gross margin"
    return (
        f"{money(value, config.revenue.currency)} at an assumed {margin} gross margin "
        "(set `revenue.gross_margin` in closeloop.toml)"
    )


def _advocacy(advocacy: AdvocacyCounts) -> tuple[Fact, ...]:
    """Referrals and the other acts of advocacy of the period, by kind and segment."""
    if advocacy.total.total == 0:
        return (
            Fact(
                "Advocacy",
                "none recorded in the period (a promoter's alert has a Record advocacy "
                "button; `closeloop import advocacy FILE` loads more)",
            ),
        )
    text = tally_text(advocacy.total)
    if len(advocacy.by_segment) > 1:
        text += f" ({by_segment_text(advocacy)})"
    return (Fact("Advocacy", text),)


def _ahead(ahead: AtStake, currency: str) -> tuple[Fact, ...]:
    """The ARR at stake in renewals due soon: where the period's retention goes next."""
    if ahead.due == 0:
        return (Fact(f"ARR at stake, next {ahead.days} days", "no open renewals due"),)
    return (
        Fact(
            f"ARR at stake, next {ahead.days} days",
            f"{money(ahead.at_stake, currency)} of {money(ahead.arr_due, currency)} renewing "
            f"({ahead.due} renewals; each renewal's ARR × its churn risk)",
        ),
    )


def _quarter(quarter: QuarterRetention) -> str:
    """`Q3 2026`, or `Q4 2026 (to date)` for the quarter still running."""
    label = f"Q{(quarter.quarter.month - 1) // 3 + 1} {quarter.quarter.year}"
    return label if quarter.complete else f"{label} (to date)"


def _rates(name: str, labels: list[str], rates: list[float]) -> str:
    return f"{name} " + ", ".join(
        f"{label} {percent(rate)}" for label, rate in zip(labels, rates, strict=True)
    )


def _retention_chart(quarters: tuple[QuarterRetention, ...], scope: str) -> Chart | None:
    """NRR and GRR by quarter, oldest first; None with fewer than two quarters to compare."""
    shown = [q for q in quarters if q.retention.nrr is not None and q.retention.grr is not None]
    if len(shown) < 2:
        return None
    labels = [_quarter(q) for q in shown]
    nrr = [q.retention.nrr or 0.0 for q in shown]
    grr = [q.retention.grr or 0.0 for q in shown]
    summary = (
        f"{_rates('NRR', labels, nrr)}; {_rates('GRR', labels, grr)}. Each quarter's rate "
        "covers its own three months and the accounts at its start, so it sits nearer "
        "100 % than a 12-month rate."
    )
    if not shown[-1].complete:
        summary += f" {labels[-1]} covers the quarter's days so far."
    return Chart(
        title=f"NRR and GRR by quarter — {scope}",
        kind=ChartKind.LINE,
        categories=tuple(labels),
        series=(
            Series("NRR", tuple(round(rate * 100, 1) for rate in nrr)),
            Series("GRR", tuple(round(rate * 100, 1) for rate in grr)),
        ),
        summary=summary,
        unit="%",
        y_label="% of starting ARR",
    )


ACTIVITIES, LEADING, LAGGING = "Activities", "Leading indicators", "Lagging outcomes"
"""The three stages, in the order the answer reads them: what the team does, how customers
respond, what it earns."""


def _activities(activities: Activities) -> str:
    if activities.total == 0:
        return (
            "no touchpoints recorded in the period; import them with "
            "`closeloop import activities FILE`"
        )
    kinds = (
        (activities.calls, "call"),
        (activities.qbrs, "QBR"),
        (activities.trainings, "training"),
        (activities.emails, "email"),
    )
    per = activities.csms or 1
    totals = ", ".join(count(n, noun) for n, noun in kinds)
    each = ", ".join(f"{n / per:,.0f} {noun}s" for n, noun in kinds)
    return f"{totals} with customers, by {count(activities.csms, 'CSM')}; per CSM {each}"


def _leading(leading: Leading) -> str:
    parts = []
    if leading.snapshot_day is None or leading.average_health is None:
        parts.append("no health snapshot stored for the period, so no adoption or health")
    else:
        day = _day(leading.snapshot_day)
        if leading.adoption is not None:
            parts.append(
                f"adoption {leading.adoption:.0f}/100 on average "
                f"({count(leading.adoption_customers, 'customer')} with feature data)"
            )
        else:
            parts.append("adoption not known (no feature data)")
        parts.append(
            f"health {leading.average_health:.0f}/100 on average, {leading.red:,} of "
            f"{count(leading.customers, 'customer')} "
            f"({percent(leading.red / leading.customers)}) in the red band, on {day}"
        )
    result = leading.nps
    if result.score is None:
        parts.append("no NPS answers in the period")
    else:
        parts.append(
            f"NPS {signed(result.score)} ({interval(result.ci_low, result.ci_high)}, "
            f"n = {result.n}; {result.promoters} promoters, {result.detractors} detractors)"
        )
    return "; ".join(parts)


def _lagging(data: KpiReport, currency: str) -> str:
    result, crc = data.retention, data.cost_to_retain
    churned = result.churned_accounts / result.accounts if result.accounts else None
    cost = (
        f"cost to retain {percent(crc.ratio)}"
        if crc.ratio is not None
        else "cost to retain not known (no CS cost recorded)"
        if crc.covered_days == 0
        else f"cost to retain not known ({crc.missing})"
    )
    parts = [
        f"GRR {percent(result.grr)}",
        f"NRR {percent(result.nrr)}",
        f"logo churn {percent(churned)} ({result.churned_accounts} of "
        f"{count(result.accounts, 'account')})",
        f"expansion {money(result.expansion, currency)}",
        cost,
    ]
    if data.advocacy is not None:
        parts.append(f"{count(data.advocacy.total.total, 'act')} of advocacy")
    return "; ".join(parts)


def _books_table(data: KpiReport, scope: str, currency: str) -> Table:
    return Table(
        ("CSM", "Accounts", "ARR"),
        tuple(
            (book.csm, str(book.accounts), money(book.arr, currency))
            for book in data.books[:BOOKS_SHOWN]
        ),
        title=f"Books — {scope}, ARR on {_day(data.books_on)} (largest first)",
    )


def kpis_reply(
    data: KpiReport, period: Period, segment: Segment | None, today: dt.date, config: Config
) -> Reply:
    result, currency = data.retention, config.revenue.currency
    scope = segment.value if segment else "all segments"
    heading = f"KPIs — {scope}, {period.label}"
    if result.accounts == 0:
        return Reply(
            heading=heading, paragraphs=("No customers with ARR at the start of the period.",)
        )
    metrics = (
        Metric("NRR", percent(result.nrr), tone=_tone(result.nrr, 1.0, 0.9)),
        Metric("GRR", percent(result.grr), tone=_tone(result.grr, 0.9, 0.8)),
        Metric(
            "Logo retention",
            percent(result.logo_retention),
            tone=_tone(result.logo_retention, 0.9, 0.8),
        ),
    )
    stages = (
        *((Fact(ACTIVITIES, _activities(data.activities)),) if data.activities else ()),
        *((Fact(LEADING, _leading(data.leading)),) if data.leading else ()),
        Fact(LAGGING, _lagging(data, currency)),
    )
    facts = (
        *stages,
        Fact(
            "Starting ARR",
            f"{money(result.start_arr, currency)} across {result.accounts:,} accounts",
        ),
        Fact("Expansion", money(result.expansion, currency)),
        Fact("Contraction", money(result.contraction, currency)),
        Fact(
            "Churned ARR", f"{money(result.churn, currency)} ({result.churned_accounts} accounts)"
        ),
        Fact(
            "Gross / net revenue churn",
            f"{percent(result.gross_revenue_churn)} / {percent(result.net_revenue_churn)}",
        ),
        Fact(
            "New business (not in NRR)",
            f"{money(result.new_arr, currency)} ({result.new_accounts} accounts)",
        ),
        Fact("Customer lifetime value", _clv(data.lifetime_value, config)),
        Fact("Cost to retain", _cost_to_retain(data.cost_to_retain, scope, period)),
        *(_advocacy(data.advocacy) if data.advocacy is not None else ()),
        *(_ahead(data.ahead, currency) if data.ahead is not None else ()),
    )
    tables = []
    if data.books:
        tables.append(_books_table(data, scope, currency))
    if data.advocacy is not None and data.advocacy.by_csm:
        tables.append(advocacy_table(data.advocacy, f"Advocacy by CSM — {scope}, {period.label}"))
    notes = [
        "Read top down: activities are what the team does, leading indicators how customers "
        "respond, lagging outcomes what it earns.",
        "NRR and GRR cover the accounts that had ARR at the start; GRR never exceeds 100 %.",
        "Cost-to-retain benchmark: median about 6 %, 25th percentile 3 %, 75th 10 % "
        "(a survey cited at the Customer Success Festival, 2022).",
    ]
    if data.touches:
        touch_table, touch_note = _touch_table(data, scope)
        tables.append(touch_table)
        notes += [touch_note] if touch_note else []
    if data.books_on < today:
        notes.append(
            f"Books count each account under its owner today, with its ARR on "
            f"{_day(data.books_on)}: past ownership is not recorded."
        )
    chart = _retention_chart(data.quarters, scope)
    return Reply(
        heading=heading,
        metrics=metrics,
        facts=facts,
        tables=tuple(tables),
        notes=tuple(notes),
        charts=(chart,) if chart is not None else (),
    )
