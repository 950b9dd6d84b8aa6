"""The Teams app package: the manifest with the bot's app id, and the two icons, zipped.

Teams installs a bot from an app package, a zip holding `manifest.json` and the icons it
names, all at the zip's root (msteams-docs, "Teams app package"). The committed
`manifests/teams/manifest.json` carries a placeholder GUID where the Microsoft App ID
belongs and command lists generated from the command registry;
`closeloop teams-package` puts the real app id in and zips it with the icons.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from bot.commands import Command, CommandRegistry

__all__ = [
    "MANIFEST_DIR",
    "PLACEHOLDER_APP_ID",
    "PackageError",
    "build_manifest",
    "build_package",
    "load_base",
]

MANIFEST_DIR: Final = Path(__file__).resolve().parents[3] / "manifests" / "teams"
MANIFEST_FILE: Final = "manifest.json"
ICON_FILES: Final = ("color.png", "outline.png")
# The committed manifest's app id: a valid GUID, so the file validates as it is, and one
# no real Microsoft Entra app registration has.
PLACEHOLDER_APP_ID: Final = "00000000-0000-0000-0000-000000000000"

# Rules of the Teams manifest schema 1.17 (tests/conformance/teams-manifest-1.17.schema.json):
# `definitions.guid`, and for `bots[].commandLists[].commands`: at most 10 commands per
# list, a title of at most 32 and a description of at most 128 characters.
GUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
MAX_COMMANDS: Final = 10
TITLE_MAX_CHARS: Final = 32
DESCRIPTION_MAX_CHARS: Final = 128
ELLIPSIS: Final = "…"

# A fixed timestamp for every zip entry, so the same inputs give the same package bytes.
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)


class PackageError(ValueError):
    """The package cannot be built as asked; the message says what to fix."""


def _check_app_id(app_id: str) -> str:
    app_id = app_id.strip()
    if not GUID.fullmatch(app_id):
        raise PackageError(
            f"the Microsoft App ID must be a GUID like 12345678-9abc-def0-1234-56789abcdef0 "
            f"(the bot's Application (client) ID in Azure), not {app_id!r}"
        )
    if app_id == PLACEHOLDER_APP_ID:
        raise PackageError(
            "the Microsoft App ID is still the placeholder; give the bot's own app id "
            "(--app-id or MICROSOFT_APP_ID)"
        )
    return app_id


def _description(command: Command) -> str:
    """The summary, and the usage when both fit: Teams shows it under the command's name."""
    summary = " ".join(command.summary.split())
    usage = " ".join(command.usage.split())
    with_usage = f"{summary}. Usage: {usage}"
    if usage and usage != command.name and len(with_usage) <= DESCRIPTION_MAX_CHARS:
        return with_usage
    if len(summary) <= DESCRIPTION_MAX_CHARS:
        return summary
    return summary[: DESCRIPTION_MAX_CHARS - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _commands(registry: CommandRegistry) -> list[dict[str, str]]:
    """The registry's first ten commands, in its order, as a Teams command list.

    Teams 1.17 takes at most ten per list; the rest still work when typed, and `help`
    lists them all.
    """
    commands = []
    for command in list(registry)[:MAX_COMMANDS]:
        if len(command.name) > TITLE_MAX_CHARS:
            # A clipped title would suggest a command that does not exist.
            raise PackageError(
                f"command {command.name!r} is longer than Teams' {TITLE_MAX_CHARS} characters"
            )
        commands.append({"title": command.name, "description": _description(command)})
    return commands


def build_manifest(
    app_id: str, registry: CommandRegistry, *, base: dict[str, Any]
) -> dict[str, Any]:
    """`base` with the app id as app and bot id, and one command list per bot scope.

    The app id is used for both, as the Bot Framework samples do: one registration, one
    id, and re-uploading a package updates the same app. Raises PackageError for an app
    id that is not a GUID.
    """
    app_id = _check_app_id(app_id) if app_id != PLACEHOLDER_APP_ID else app_id
    manifest = copy.deepcopy(base)
    manifest["id"] = app_id
    bots = manifest.get("bots")
    if not isinstance(bots, list) or len(bots) != 1 or not isinstance(bots[0], dict):
        raise PackageError("the base manifest must declare exactly one bot")
    bot = bots[0]
    bot["botId"] = app_id
    commands = _commands(registry)
    # "A separate command list should be used for each scope" (the schema's description).
    bot["commandLists"] = [
        {"scopes": [scope], "commands": copy.deepcopy(commands)} for scope in bot["scopes"]
    ]
    return manifest


def load_base(directory: Path = MANIFEST_DIR) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"no Teams manifest at {path}; run from a Closeloop checkout") from None
    if not isinstance(loaded, dict):
        raise PackageError(f"{path} does not hold a JSON object")
    return loaded


def build_package(app_id: str, out: Path, *, source: Path = MANIFEST_DIR) -> Path:
    """Write the app package for `app_id` to `out` (a .zip) and return its path.

    The zip holds manifest.json, color.png and outline.png at its root, where Teams looks
    for them; the app id is checked before anything is written.
    """
    from bot.catalog import build_registry

    manifest = build_manifest(_check_app_id(app_id), build_registry(), base=load_base(source))
    icons = {}
    for name in ICON_FILES:
        try:
            icons[name] = (source / name).read_bytes()
        except FileNotFoundError:
            raise PackageError(f"the icon {source / name} is missing") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        for name, data in {MANIFEST_FILE: text.encode("utf-8"), **icons}.items():
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out


def update_committed_manifest(directory: Path = MANIFEST_DIR) -> Path:
    """Regenerate the committed manifest's command lists after the registry changed."""
    from bot.catalog import build_registry

    path = directory / MANIFEST_FILE
    manifest = build_manifest(PLACEHOLDER_APP_ID, build_registry(), base=load_base(directory))
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(update_committed_manifest(Path(sys.argv[1]) if len(sys.argv) > 1 else MANIFEST_DIR))
