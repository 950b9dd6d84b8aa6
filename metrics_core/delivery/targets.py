"""Where a message goes: the one vocabulary of chat platforms and addresses.

The metrics send nothing and know no chat API; they name destinations as data, and the
adapters deliver them. A `Target` is a platform (by the name stored with every outbox row
and digest subscription), the kind of address, and its id: a conversation (a channel, a
group chat) or a person, whose direct messages the platform's adapter finds.

Everything else in `metrics_core` speaks of platforms only through this module: the
platform names, the team-table columns holding a person's id on each, and how a person's
address is stored (`Target.address`: the owner-DM rule, written once).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final


class Platform(enum.StrEnum):
    """Where a request comes from or a message goes; the value is what the tables store."""

    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"
    WEB = "web"


class AddressKind(enum.StrEnum):
    CONVERSATION = "conversation"
    """A channel, a group chat or a chat the platform already knows by id."""
    PERSON = "person"
    """A person's direct messages with the bot, by their user id on the platform."""


PERSON_PREFIX: Final = "user:"
"""How a stored address names a person rather than a conversation: `user:<user id>`."""

_USER_ID_IS_ADDRESS: Final = frozenset({Platform.SLACK})
"""Platforms whose API takes a user id itself as the conversation of that person's direct
messages (Slack's `chat.postMessage` does), so their person addresses are stored bare."""

PERSON_IDS: Final[Mapping[str, str]] = {
    Platform.SLACK: "slack_user_id",
    Platform.TEAMS: "teams_aad_object_id",
}
"""The team-table column holding a person's user id on each platform."""


@dataclass(frozen=True, slots=True, eq=False)
class Target:
    """A destination: a platform, an address id on it, and what kind of address that is.

    Two targets are the same destination when they are stored alike (`platform` and
    `address`), so routing never owes one message twice to the same place.
    """

    platform: str
    id: str
    kind: AddressKind = AddressKind.CONVERSATION

    @classmethod
    def person(cls, platform: str, user_id: str) -> Target:
        """A person's direct messages on `platform`."""
        return cls(platform, user_id, AddressKind.PERSON)

    @classmethod
    def stored(cls, platform: str, address: str) -> Target:
        """The target an outbox row or a subscription stores as `platform` and `address`.

        A bare Slack user id reads back as a conversation, which on Slack it also is.
        """
        user = person_in(address)
        if user is not None:
            return cls.person(platform, user)
        return cls(platform, address)

    @property
    def address(self) -> str:
        """The address as stored and as the platform's adapter is given it."""
        if self.kind is AddressKind.PERSON and self.platform not in _USER_ID_IS_ADDRESS:
            return f"{PERSON_PREFIX}{self.id}"
        return self.id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Target):
            return NotImplemented
        return (self.platform, self.address) == (other.platform, other.address)

    def __hash__(self) -> int:
        return hash((self.platform, self.address))


def person_in(address: str) -> str | None:
    """The user id a stored person address names; None for a conversation's address."""
    return address.removeprefix(PERSON_PREFIX) if address.startswith(PERSON_PREFIX) else None


def direct_messages(user_ids: Mapping[str, str | None]) -> tuple[Target, ...]:
    """A person's direct messages on every platform they have an id on (`PERSON_IDS`)."""
    return tuple(Target.person(platform, user) for platform, user in user_ids.items() if user)


def conversations(
    slack_channels: Sequence[str], teams_conversations: Sequence[str]
) -> list[Target]:
    """The conversations a `closeloop.toml` rule lists, in file order, per platform."""
    return [Target(Platform.SLACK, c) for c in slack_channels] + [
        Target(Platform.TEAMS, c) for c in teams_conversations
    ]


def unique(targets: Sequence[Target]) -> list[Target]:
    """The targets in order, each destination once."""
    return list(dict.fromkeys(targets))
