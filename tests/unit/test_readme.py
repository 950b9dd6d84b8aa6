"""The README documents what the code does: import columns, commands, environment."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from adapters.entrypoints.cli import app
from metrics_core.importing import COLUMNS, KINDS

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def import_table(kind: str) -> str:
    """The README's table of one import kind, rendered from the importer's own column list."""
    lines = [f"**{kind}**", "", "| column | type | meaning |", "|---|---|---|"]
    for column in COLUMNS[kind]:
        name = f"`{column.name}`" + ("*" if column.required else "")
        lines.append(f"| {name} | {column.kind} | {column.description} |")
    return "\n".join(lines)


def test_every_import_kind_is_documented_with_its_exact_columns() -> None:
    for kind in KINDS:
        assert import_table(kind) in README, f"README's table for {kind} is out of date"


def test_every_cli_command_is_in_the_readme() -> None:
    commands = get_command(app).commands  # type: ignore[attr-defined]
    for name in commands:
        assert re.search(rf"`closeloop {name}\b", README), f"`closeloop {name}` is not documented"


def test_every_source_path_the_readme_names_exists() -> None:
    """The architecture section sends newcomers to folders and modules: they must be there."""
    root = Path(__file__).parents[2]
    named = set(re.findall(r"`((?:metrics_core|bot|adapters|tests|benchmarks)/[\w/.]*)`", README))
    assert len(named) > 20, "the README's architecture section names the packages' modules"
    missing = sorted(path for path in named if not (root / path).exists())
    assert not missing, f"the README names paths that do not exist: {missing}"


def test_every_environment_variable_is_in_the_configuration_table() -> None:
    from adapters.settings import Settings

    table = README[README.index("## Configuration") : README.index("## Running in a container")]
    names = [str(field.validation_alias) for field in Settings.model_fields.values()]
    assert len(names) > 20
    missing = [name for name in names if f"`{name}" not in table]
    assert not missing, f"README's configuration table lacks {missing}"
