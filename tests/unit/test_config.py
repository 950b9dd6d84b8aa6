"""`closeloop.toml`: the shipped example is the defaults, and bad files say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics_core.config import Config, ConfigError, load_config
from metrics_core.store.models import Segment

EXAMPLE = Path(__file__).parents[2] / "closeloop.example.toml"


def test_the_example_file_documents_exactly_the_defaults() -> None:
    assert load_config(EXAMPLE) == Config()


def test_no_file_means_defaults() -> None:
    assert load_config(None) == Config()


def test_segment_weights_override(tmp_path: Path) -> None:
    path = tmp_path / "closeloop.toml"
    path.write_text("[health.segments.SMB]\nusage = 50\nsupport = 50\n", encoding="utf-8")
    config = load_config(path)
    assert config.health.weights_for(Segment.SMB).usage == 50
    assert config.health.weights_for(Segment.SMB).relationship == 10  # unspecified: default
    assert config.health.weights_for(Segment.ENTERPRISE) == Config().health.weights


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[health.weights]\nusage = -1\n",
            "health.weights.usage: Input should be greater than or equal to 0",
        ),
        ("[health.wieghts]\nusage = 1\n", "health.wieghts: Extra inputs are not permitted"),
        ("[health.bands]\nred_below = 80\n", "red_below must not exceed green_from"),
        ("[health.segments.Galactic]\nusage = 1\n", "health.segments.Galactic"),
        ("[health\n", "not valid TOML"),
        (
            "[health.weights]\nusage=0\nadoption=0\nsupport=0\nsentiment=0\nrelationship=0\ncommercial=0\n",
            "at least one component needs a positive weight",
        ),
    ],
)
def test_bad_files_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "closeloop.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")
