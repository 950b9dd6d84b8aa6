"""The design's dependency rules, checked on every module's imports and names.

`adapters → bot → metrics_core`: the metrics know no chat platform and no bot; the bot
knows no Slack or Teams SDK, no SQL and no pandas (it reads through the query seam); only
`adapters/platforms/teams/` may import botbuilder and only `adapters/platforms/slack/` the
Slack SDK. Inside `adapters/`, entrypoints build everything through the composition root
(`adapters/bootstrap.py`), workers know no platform, and platforms know neither the
entrypoints nor each other.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
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


def test_bot_reads_through_the_query_seam_without_sql_or_dataframes() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("bot")
        for name in imports(path)
        if name.split(".")[0] in ("sqlalchemy", "pandas")
    ]
    assert offences == []


def test_the_slack_sdk_stays_in_the_slack_adapter() -> None:
    offences = [
        str(path.relative_to(ROOT))
        for package in ("bot", "metrics_core", "adapters")
        for path in modules(package)
        if path.relative_to(ROOT).parts[:3] != ("adapters", "platforms", "slack")
        and any(name.split(".")[0] in ("slack_bolt", "slack_sdk") for name in imports(path))
    ]
    assert offences == []


PLATFORM_WORDS = re.compile(r"slack|teams|botbuilder", re.IGNORECASE)
VOCABULARY = ROOT / "metrics_core" / "delivery" / "targets.py"
"""The one module that names platforms: their stored names and how each addresses people."""
SCHEMA_HISTORY = ROOT / "metrics_core" / "store" / "migrations"
"""Past revisions of the stored schema, never edited: data as it was stored."""
STORED_NAMES = frozenset(
    {
        "slack_user_id",
        "teams_aad_object_id",
        "slack_channels",
        "teams_conversations",
        "escalation_slack_channels",
        "escalation_teams_conversations",
    }
)
"""Data the metrics store or read from the operator: team-table columns and CSV columns,
`closeloop.toml` keys. They name a platform because the data is that platform's."""


def _code_words(path: Path) -> Iterator[tuple[int, str]]:
    """Every name and every word-like string literal in the module's code, with its line.

    Prose is left out: docstrings, comments, and strings with spaces (messages and help
    for people), which may well mention Slack or Teams. Code may not.
    """
    text = path.read_text(encoding="utf-8")
    documentation = {
        (node.value.lineno, node.value.col_offset)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        prose = token.start in documentation or any(c.isspace() for c in token.string)
        if token.type == tokenize.NAME:
            yield token.start[0], token.string
        elif token.type == tokenize.STRING and not prose:
            yield token.start[0], token.string.lstrip("rbfuRBFU").strip("'\"")


def test_the_metrics_name_no_chat_platform_outside_the_address_vocabulary() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {word}"
        for path in modules("metrics_core")
        if path != VOCABULARY and SCHEMA_HISTORY not in path.parents
        for line, word in _code_words(path)
        if PLATFORM_WORDS.search(word) and word not in STORED_NAMES
    ]
    assert modules("metrics_core")
    assert offences == []


def _adapter_layer(path: Path) -> str:
    """`entrypoints`, `workers`, `platforms.<name>`, or the module's own name (bootstrap)."""
    parts = path.relative_to(ROOT / "adapters").with_suffix("").parts
    if parts[0] == "platforms" and len(parts) > 1:
        return f"platforms.{parts[1]}"
    return parts[0]


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "adapters" or len(parts) < 2:
        return None
    if parts[1] == "platforms" and len(parts) > 2:
        return f"platforms.{parts[2]}"
    return parts[1]


RENDERING = frozenset({"platforms.text", "platforms.limits"})
"""What every platform's renderer shares (text helpers, fitting into a platform's limits):
beside the platforms, but no platform itself."""


def _may_not_use(layer: str, used: str) -> bool:
    """Entrypoints may use everything; nothing else uses an entrypoint or the composition
    root; workers use no platform; a platform uses no other platform. Platforms may use
    the workers' contracts (a sender's errors, work in flight), the settings and the
    renderers' shared helpers."""
    if layer == "entrypoints" or used == layer:
        return False
    return (
        used in ("entrypoints", "bootstrap")
        or (layer == "workers" and used.startswith("platforms."))
        or (
            layer.startswith("platforms.")
            and used.startswith("platforms.")
            and used not in RENDERING
        )
    )


def test_adapters_layers_point_from_entrypoints_to_workers_and_platforms() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("adapters")
        for name in imports(path)
        if (used := _layer_of(name)) is not None and _may_not_use(_adapter_layer(path), used)
    ]
    assert offences == []


def _calls(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                found.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                found.add(node.func.attr)
    return found


def test_only_the_composition_root_builds_storage_and_the_churn_model() -> None:
    root = ROOT / "adapters" / "bootstrap.py"
    offences = [
        f"{path.relative_to(ROOT)} builds {name}"
        for package in ("bot", "adapters")
        for path in modules(package)
        if path != root
        for name in _calls(path) & {"Database", "RiskModels"}
    ]
    assert "Database" in _calls(root)
    assert offences == []
