"""The Teams app manifest and package are what Teams accepts, and match the command registry.

Validation uses Microsoft's Teams manifest schema 1.17 (OfficeDev/microsoft-teams-app-schema,
kept offline in tests/conformance). It is a draft-04 schema whose `$ref`s all point inside
the file; the registry below refuses to fetch anything, so the test never touches the
network. Draft-04 has no `const`, so the manifest version the schema pins is checked here.
"""

from __future__ import annotations

import copy
import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from typer.testing import CliRunner

from adapters.entrypoints.cli import app
from adapters.platforms.teams import icons
from adapters.platforms.teams.package import (
    PLACEHOLDER_APP_ID,
    PackageError,
    build_manifest,
    build_package,
    load_base,
)
from bot.catalog import build_registry
from bot.commands import Command, CommandRegistry
from bot.handlers.help import help_command

REPO = Path(__file__).resolve().parents[2]
TEAMS = REPO / "manifests" / "teams"
SCHEMA_FILE = REPO / "tests" / "conformance" / "teams-manifest-1.17.schema.json"
SCHEMA_URL = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
)
APP_ID = "3f2c9a4e-8b1d-4c6e-9f0a-1b2c3d4e5f60"
SCOPES = ["personal", "team", "groupChat"]
# Teams manifest 1.17: bots[].commandLists[].commands has maxItems 10, title maxLength 32,
# description maxLength 128.
MAX_COMMANDS, TITLE_MAX, DESCRIPTION_MAX = 10, 32, 128


# --- the validator -----------------------------------------------------------------------


def _offline(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # never fetch a schema from the network


@cache
def validator() -> Draft4Validator:
    if not SCHEMA_FILE.is_file():
        pytest.fail(f"the Teams manifest schema 1.17 is missing: expected {SCHEMA_FILE}")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["properties"]["manifestVersion"]["const"] == "1.17"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, registry=Registry(retrieve=_offline))


def errors(document: Any) -> list[str]:
    found = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator().iter_errors(document)
    ]
    if isinstance(document, dict) and document.get("manifestVersion") != "1.17":
        found.append("manifestVersion: must be 1.17 (the schema's const)")
    return found


@pytest.fixture
def committed() -> dict[str, Any]:
    loaded = json.loads((TEAMS / "manifest.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("bots", 0, "botId"), "not-a-guid"),
        (("id",), "{3f2c9a4e-8b1d-4c6e-9f0a-1b2c3d4e5f60}"),
        (("bots", 0, "scopes"), ["personal", "meeting"]),
        (("accentColor",), "navy"),
        (("developer", "websiteUrl"), "closeloop.example.com"),
        (("manifestVersion",), "1.16"),
    ],
)
def test_broken_copies_of_the_manifest_fail(
    committed: dict[str, Any], path: tuple[str | int, ...], value: Any
) -> None:
    broken = copy.deepcopy(committed)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert errors(broken)


def test_a_command_list_of_eleven_fails(committed: dict[str, Any]) -> None:
    broken = copy.deepcopy(committed)
    commands = broken["bots"][0]["commandLists"][0]["commands"]
    commands.extend({"title": f"c{i}", "description": "d"} for i in range(11 - len(commands)))
    assert errors(broken)


# --- the committed manifest --------------------------------------------------------------


def test_the_committed_manifest_is_valid(committed: dict[str, Any]) -> None:
    assert errors(committed) == []
    assert committed["$schema"] == SCHEMA_URL
    assert committed["id"] == committed["bots"][0]["botId"] == PLACEHOLDER_APP_ID


def test_the_committed_manifest_lists_the_registrys_commands(committed: dict[str, Any]) -> None:
    rebuilt = build_manifest(PLACEHOLDER_APP_ID, build_registry(), base=committed)
    assert committed == rebuilt, (
        "manifests/teams/manifest.json is out of date with the command registry; "
        "regenerate it with `python -m adapters.platforms.teams.package`"
    )


def test_the_bot_answers_everywhere_and_takes_no_files(committed: dict[str, Any]) -> None:
    (bot,) = committed["bots"]
    assert bot["scopes"] == SCOPES
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False
    assert committed["icons"] == {"color": "color.png", "outline": "outline.png"}
    developer = committed["developer"]
    assert developer["name"] == "Closeloop"
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert developer[key].startswith("https://closeloop.example")
    assert committed["validDomains"]
    assert committed["name"]["short"] == "Closeloop"


def command_lists(manifest: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    lists = manifest["bots"][0]["commandLists"]
    assert all(len(entry["scopes"]) == 1 for entry in lists), "one list per scope"
    return {entry["scopes"][0]: entry["commands"] for entry in lists}


def check_commands(manifest: dict[str, Any], registry: CommandRegistry) -> None:
    expected = list(registry)[:MAX_COMMANDS]
    lists = command_lists(manifest)
    assert list(lists) == SCOPES
    for commands in lists.values():
        assert [c["title"] for c in commands] == [c.name for c in expected]
        for shown, command in zip(commands, expected, strict=True):
            description = shown["description"]
            assert 0 < len(description) <= DESCRIPTION_MAX
            assert len(shown["title"]) <= TITLE_MAX
            summary = " ".join(command.summary.split())
            assert description.startswith(summary) or (
                description.endswith("…") and summary.startswith(description[:-1])
            )


def test_every_scope_lists_the_registrys_commands(committed: dict[str, Any]) -> None:
    registry = build_registry()
    check_commands(committed, registry)
    health = command_lists(committed)["personal"][0]
    assert health["title"] == "health"
    assert "health <account>" in health["description"]


def _registry(names: list[str], summary: str = "Does a thing") -> CommandRegistry:
    registry = CommandRegistry()
    for name in names:
        registry.register(Command(name, f"{name} [x]", summary, help_command))
    return registry


def test_more_than_ten_commands_keep_the_first_ten(committed: dict[str, Any]) -> None:
    registry = _registry([f"cmd{i}" for i in range(13)])
    manifest = build_manifest(APP_ID, registry, base=committed)
    assert errors(manifest) == []
    check_commands(manifest, registry)
    assert [c["title"] for c in command_lists(manifest)["team"]] == [f"cmd{i}" for i in range(10)]


def test_a_long_summary_is_cut_to_what_teams_takes(committed: dict[str, Any]) -> None:
    registry = _registry(["long"], summary="word " * 100)
    manifest = build_manifest(APP_ID, registry, base=committed)
    assert errors(manifest) == []
    (shown,) = command_lists(manifest)["personal"]
    assert len(shown["description"]) == DESCRIPTION_MAX and shown["description"].endswith("…")


def test_a_command_name_teams_cannot_show_is_refused(committed: dict[str, Any]) -> None:
    with pytest.raises(PackageError, match="32"):
        build_manifest(APP_ID, _registry(["x" * 33]), base=committed)


def test_the_app_id_goes_wherever_the_placeholder_was(committed: dict[str, Any]) -> None:
    manifest = build_manifest(APP_ID, build_registry(), base=committed)
    assert errors(manifest) == []
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert PLACEHOLDER_APP_ID not in json.dumps(manifest)
    assert committed["id"] == PLACEHOLDER_APP_ID, "the base must not change"


BAD_IDS = [
    "",
    "nope",
    "3f2c9a4e8b1d4c6e9f0a1b2c3d4e5f60",
    "{3f2c9a4e-8b1d-4c6e-9f0a-1b2c3d4e5f60}",
    "3f2c9a4e-8b1d-4c6e-9f0a-1b2c3d4e5f60x",
    "3f2c9a4e-8b1d-4c6e-9f0a-1b2c3d4e5g60",
]


@pytest.mark.parametrize("app_id", BAD_IDS)
def test_an_app_id_that_is_not_a_guid_is_refused(committed: dict[str, Any], app_id: str) -> None:
    with pytest.raises(PackageError, match="GUID"):
        build_manifest(app_id, build_registry(), base=committed)


# --- icons -------------------------------------------------------------------------------


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        yield kind, body
        at += 12 + length


def _unfilter(raw: bytes, width: int, height: int, channels: int) -> list[bytes]:
    """Scanlines without their filters (PNG specification, section 9)."""
    stride, rows, previous, at = width * channels, [], bytes(width * channels), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + guess) & 0xFF
            else:
                assert kind == 0, f"unknown filter {kind}"
        rows.append(bytes(line))
        previous = bytes(line)
    return rows


def decode(data: bytes) -> tuple[int, int, int, list[tuple[int, ...]]]:
    """Width, height, colour type and pixels of an 8-bit, non-interlaced RGB(A) PNG."""
    chunks = list(_chunks(data))
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and interlace == 0 and color_type in (2, 6)
    channels = 3 if color_type == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    rows = _unfilter(raw, width, height, channels)
    pixels = [tuple(row[i : i + channels]) for row in rows for i in range(0, len(row), channels)]
    return width, height, color_type, pixels


@cache
def committed_icon(name: str) -> tuple[int, int, int, list[tuple[int, ...]]]:
    return decode((TEAMS / name).read_bytes())


def test_the_color_icon_is_a_full_colour_192_square() -> None:
    width, height, color_type, pixels = committed_icon("color.png")
    assert (width, height) == (192, 192)
    assert color_type in (2, 6)  # truecolour, not palette or grey
    assert len(set(pixels)) > 2
    assert all(len(p) == 3 or p[3] == 255 for p in pixels)


def test_the_outline_icon_is_white_on_transparent_32_square() -> None:
    width, height, color_type, pixels = committed_icon("outline.png")
    assert (width, height, color_type) == (32, 32, 6)
    opaque = [p for p in pixels if p[3] != 0]
    assert opaque and len(opaque) < len(pixels)
    assert all(p == (255, 255, 255, 255) for p in opaque)


def test_the_committed_icons_are_what_the_script_draws() -> None:
    assert decode(icons.color_icon()) == committed_icon("color.png")
    assert decode(icons.outline_icon()) == committed_icon("outline.png")


def test_the_png_writer_refuses_rows_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="size"):
        icons.png(2, 1, [b"\x00" * 5], icons.RGB)


# --- the package -------------------------------------------------------------------------


def test_the_package_has_the_three_files_at_its_root(tmp_path: Path) -> None:
    path = build_package(APP_ID, tmp_path / "out" / "closeloop-teams.zip")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("color.png") == (TEAMS / "color.png").read_bytes()
        assert archive.read("outline.png") == (TEAMS / "outline.png").read_bytes()
        assert archive.testzip() is None
    assert errors(manifest) == []
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    check_commands(manifest, build_registry())
    assert manifest == build_manifest(APP_ID, build_registry(), base=load_base())


def test_the_same_app_id_gives_the_same_package(tmp_path: Path) -> None:
    first = build_package(APP_ID, tmp_path / "a.zip").read_bytes()
    assert build_package(APP_ID, tmp_path / "b.zip").read_bytes() == first


@pytest.mark.parametrize("app_id", [*BAD_IDS, PLACEHOLDER_APP_ID])
def test_a_package_needs_a_real_app_id(tmp_path: Path, app_id: str) -> None:
    with pytest.raises(PackageError):
        build_package(app_id, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_a_missing_manifest_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no Teams manifest"):
        build_package(APP_ID, tmp_path / "x.zip", source=tmp_path / "nowhere")


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env, and the default output lands here
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    return CliRunner()


def _packaged_id(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert errors(manifest) == []
    return str(manifest["bots"][0]["botId"])


def test_the_command_writes_the_package(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "dist" / "teams.zip"
    result = runner.invoke(app, ["teams-package", "--app-id", APP_ID, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert _packaged_id(out) == APP_ID


def test_the_command_takes_the_app_id_from_the_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    result = runner.invoke(app, ["teams-package"])
    assert result.exit_code == 0, result.output
    assert _packaged_id(tmp_path / "closeloop-teams.zip") == APP_ID


def test_the_command_refuses_a_bad_or_missing_app_id(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["teams-package", "--app-id", "nope"])
    assert result.exit_code == 2
    assert "GUID" in result.output
    result = runner.invoke(app, ["teams-package"])
    assert result.exit_code == 2
    assert "MICROSOFT_APP_ID" in result.output
    assert not list(tmp_path.glob("*.zip"))


def test_the_command_has_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["teams-package", "--help"])
    assert result.exit_code == 0
    assert "--app-id" in result.output and "--out" in result.output
