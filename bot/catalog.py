"""The commands Closeloop knows, registered in the order `help` lists them.

`help` is a table of each command's short form (`brief`) and summary, read in terminals
and chat code blocks: the longest brief plus the longest summary stay within 100 columns
(a test holds them to it), and `help <name>` shows the whole usage.
"""

from __future__ import annotations

from bot.commands import Command, CommandRegistry
from bot.handlers import churn, digest, followups, health, kpis, nps, playbooks, renewals, value
from bot.handlers.help import HELP, help_command


def build_registry() -> CommandRegistry:
    registry = CommandRegistry()
    for command in (
        Command(
            "health",
            health.USAGE,
            "An account's health score (0–100), what drives it and how it moved",
            health.health_command,
            brief="health <account> | …",
            shared_answer=health.about_one_account,
        ),
        Command(
            "churn",
            churn.USAGE,
            "Churn risk of an account with its drivers, or the riskiest accounts",
            churn.churn_command,
            brief="churn <account> | top",
        ),
        Command(
            "nps",
            nps.USAGE,
            "NPS, CSAT and CES with intervals, trend, breakdowns and detractor verbatims",
            nps.nps_command,
            brief="nps [account] [period]",
        ),
        Command(
            "renewals",
            renewals.USAGE,
            "Open renewals ahead with ARR at stake, health, risk and a forecast",
            renewals.renewals_command,
        ),
        Command(
            "kpis",
            kpis.USAGE,
            "NRR, GRR, logo retention, expansion, churn, CLV and cost to retain",
            kpis.kpis_command,
        ),
        Command(
            "value",
            value.USAGE,
            "Promised outcomes delivered, acknowledged or overdue, and advocacy",
            value.value_command,
            brief="value [account | …]",
        ),
        Command(
            "followups",
            followups.USAGE,
            "Survey follow-ups still waiting, yours or everyone's, oldest first",
            followups.followups_command,
            brief="followups [mine | …]",
        ),
        Command(
            "playbooks",
            playbooks.USAGE,
            "Playbook runs and their plays: yours, an account's, or everyone's",
            playbooks.playbooks_command,
            brief="playbooks [mine | …]",
        ),
        Command(
            "digest",
            digest.USAGE,
            "Daily or weekly summaries in a channel or DMs: subscribe, list, preview",
            digest.digest_command,
            brief="digest subscribe | …",
            needs_timezone=True,
            read_only=False,
        ),
        Command(HELP, f"{HELP} [command]", "This list", help_command),
    ):
        registry.register(command)
    return registry
