"""The Slack app manifest is valid for Slack and matches the commands the bot registers.

Validation uses Slack's own JSON Schema (slackapi/manifest-schema, kept offline in
tests/conformance). Its top-level schema points at the per-version schemas by
raw.githubusercontent.com URLs; a `referencing.Registry` maps those URLs to the local
copies, so the test never touches the network and fails rather than fetching.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from bot.catalog import build_registry

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "manifests" / "slack" / "manifest.yaml"
CONFORMANCE = REPO / "tests" / "conformance"
SCHEMA_BASE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"

PLACEHOLDER_URL = "https://closeloop.example.com/slack/events"
# Justified, with sources, in the manifest's comments; anything more must be argued there.
BOT_SCOPES = {
    "commands",
    "chat:write",
    # reading the bot's own recent posts back after a crash (the dispatcher's recovery)
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    # the subscriber's time zone for /digest (users.info)
    "users:read",
}


@pytest.fixture(scope="module")
def conformance() -> Path:
    if not (CONFORMANCE / "slack-manifest.schema.json").is_file():
        pytest.fail(
            f"Slack's manifest schema is expected in {CONFORMANCE} (slack-manifest.schema.json "
            "and its 1.0.0 and 2.0.0 parts); without it the manifest cannot be validated."
        )
    return CONFORMANCE


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(conformance: Path) -> Draft7Validator:
    """A validator for any manifest version, resolving the schema's remote refs locally."""
    registry: Registry[Any] = Registry().with_resources(
        (
            f"{SCHEMA_BASE}manifest.schema.{version}.0.0.json",
            DRAFT7.create_resource(
                _json(conformance / f"slack-manifest.schema.{version}.0.0.json")
            ),
        )
        for version in (1, 2)
    )
    schema = _json(conformance / "slack-manifest.schema.json")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def errors(validator: Draft7Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


# --- the validator itself is wired right ----------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_slacks_valid_examples_pass(validator: Draft7Validator, version: int) -> None:
    example = _json(CONFORMANCE / f"slack-manifest-v{version}.valid.example.json")
    assert errors(validator, example) == []


@pytest.mark.parametrize("version", [1, 2])
def test_slacks_invalid_examples_fail(validator: Draft7Validator, version: int) -> None:
    example = _json(CONFORMANCE / f"slack-manifest-v{version}.invalid.example.json")
    assert errors(validator, example)


def test_a_broken_copy_of_our_manifest_fails(
    validator: Draft7Validator, manifest: dict[str, Any]
) -> None:
    broken = copy.deepcopy(manifest)
    broken["features"]["slash_commands"][0]["command"] = "closeloop"  # no leading slash
    assert errors(validator, broken)


# --- the manifest ----------------------------------------------------------------------------


def test_the_manifest_is_valid(validator: Draft7Validator, manifest: dict[str, Any]) -> None:
    assert errors(validator, manifest) == []
    assert manifest["_metadata"]["major_version"] == 1


def _hint(usage: str, name: str) -> str:
    """The registry's usage as Slack shows it, after "/name": "churn top [N]" → "top [N]"."""
    return " | ".join(form.strip().removeprefix(name).strip() or name for form in usage.split("|"))


def test_there_is_one_slash_command_per_registered_command(manifest: dict[str, Any]) -> None:
    registry = build_registry()
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/closeloop"} | {
        f"/{name}" for name in registry.names() if name != "help"
    }
    for command in registry:
        if command.name == "help":
            continue
        declared = commands[f"/{command.name}"]
        assert declared["usage_hint"] == _hint(command.usage, command.name)
        assert declared["description"] == command.summary


def test_the_usage_hints_keep_every_argument_of_the_registry() -> None:
    assert _hint("health <account>", "health") == "<account>"
    assert _hint("churn <account> | churn top [N]", "churn") == "<account> | top [N]"
    assert _hint("renewals [days]", "renewals") == "[days]"


def test_everything_arrives_on_the_one_placeholder_url(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = {c["url"] for c in manifest["features"]["slash_commands"]}
    urls |= {
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    }
    assert urls == {PLACEHOLDER_URL}
    # Only /digest takes user mentions (owner=@dana), which must arrive as user ids.
    escaped = {c["command"] for c in manifest["features"]["slash_commands"] if c["should_escape"]}
    assert escaped == {"/digest"}
    assert settings["interactivity"]["is_enabled"] is True


def test_scopes_and_events_are_exactly_the_justified_ones(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user token, nothing optional
    assert sorted(scopes["bot"]) == sorted(BOT_SCOPES)
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    comments = MANIFEST.read_text(encoding="utf-8")
    for scope in BOT_SCOPES:
        assert f"https://docs.slack.dev/reference/scopes/{scope.replace(':', '.')}" in comments


def test_app_home_bot_user_and_settings(manifest: dict[str, Any]) -> None:
    display = manifest["display_information"]
    assert display["name"] == "Closeloop"
    # The schema spells this check "regex", which JSON Schema ignores; check it here.
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", display["background_color"])
    assert manifest["features"]["bot_user"] == {"display_name": "closeloop", "always_online": False}
    assert manifest["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": True,
    }
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
