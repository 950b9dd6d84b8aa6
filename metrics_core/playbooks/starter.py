"""The starter playbooks that ship with Closeloop (one per trigger kind).

They are what the demo runs and what `closeloop.example.toml` documents; a team's own
`closeloop.toml` replaces them as soon as it names any playbook.
"""

from __future__ import annotations

import tomllib
from importlib import resources

from metrics_core.config import Config, Playbook


def starter_playbooks() -> list[Playbook]:
    """The playbooks in the packaged starter file, validated like any configuration."""
    text = (
        resources.files("metrics_core").joinpath("data/starter_playbooks.toml").read_text("utf-8")
    )
    return Config.model_validate(tomllib.loads(text)).playbooks
