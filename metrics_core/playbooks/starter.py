"""The starter playbooks that ship with Closeloop (one per trigger kind).

They are what `closeloop.example.toml` documents and what the demo and the playground run
when their `closeloop.toml` names no playbook (`with_starter_playbooks`). Anywhere else a
`closeloop.toml` without `[[playbooks]]` runs none, and one that names any runs those.
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


def with_starter_playbooks(config: Config) -> Config:
    """`config` as the demo and the playground run it: the starter playbooks when it names none.

    A deployment's own `closeloop.toml` without `[[playbooks]]` runs no playbook at all:
    nobody is sent a checklist they did not ask for. Where people come to try Closeloop
    (`closeloop demo`, the playground), the starter playbooks show what playbooks do.
    """
    if config.playbooks:
        return config
    return config.model_copy(update={"playbooks": starter_playbooks()})
