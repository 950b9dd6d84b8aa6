"""The design's dependency rules, checked on every module's imports.

`adapters → bot → metrics_core`: the metrics know no chat platform and no bot; the bot
knows no Slack or Teams SDK; only `adapters/platforms/teams/` may import botbuilder.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("metrics_core", ("bot", "adapters", "slack_bolt", "slack_sdk", "botbuilder", "aiohttp")),
        ("bot", ("adapters", "slack_bolt", "slack_sdk", "botbuilder", "aiohttp")),
    ],
)
def test_dependencies_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(package)
        for name in imports(path)
        if name.split(".")[0] in forbidden
    ]
    assert modules(package)
    assert offences == []


def test_botbuilder_stays_in_the_teams_adapter() -> None:
    offences = [
        str(path.relative_to(ROOT))
        for package in ("bot", "metrics_core", "adapters")
        for path in modules(package)
        if "teams" not in path.relative_to(ROOT).parts
        and any(name.split(".")[0] == "botbuilder" for name in imports(path))
    ]
    assert offences == []
