"""Segment-spec calls read as the usage tables need them, and refused with the field named.

What an operator reading a sender's delivery log needs: which call of a batch was wrong,
which field, and why; and, for the calls that pass, the user, the day, the account hint
and the feature they will be counted under.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from adapters.platforms.ingest.segment import MAX_MESSAGES, EventError, parse
from metrics_core.usage.events import GROUP, IDENTIFY, TRACK, feature_name, user_key

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def track(**fields: Any) -> dict[str, Any]:
    call: dict[str, Any] = {
        "type": "track",
        "messageId": "ajs-1",
        "userId": "u-1",
        "event": "Report Exported",
        "timestamp": "2026-11-19T09:30:00Z",
    }
    call.update(fields)
    return {k: v for k, v in call.items() if v is not None}


def refused(document: object) -> str:
    with pytest.raises(EventError) as error:
        parse(document, NOW)
    return error.value.message


def test_a_track_call_names_its_user_day_and_feature() -> None:
    (message,) = parse(track(context={"groupId": "ACME"}), NOW)
    assert message.call == TRACK
    assert message.message_id == "ajs-1"
    assert message.users == (user_key("user", "u-1"),)
    assert message.at == dt.datetime(2026, 11, 19, 9, 30, tzinfo=dt.UTC)
    assert message.group_id == "ACME"
    assert message.feature == "report_exported"


def test_a_feature_property_names_the_feature_instead_of_the_event() -> None:
    (message,) = parse(track(properties={"feature": "Dashboards", "plan": "pro"}), NOW)
    assert message.feature == "dashboards"


def test_an_identify_call_gives_the_users_email() -> None:
    call = {
        "type": "identify",
        "messageId": "i-1",
        "userId": "u-1",
        "anonymousId": "a-1",
        "traits": {"email": " Jane@ACME.example ", "name": "Jane"},
    }
    (message,) = parse(call, NOW)
    assert message.call == IDENTIFY
    assert message.email == "jane@acme.example"
    assert message.users == (user_key("user", "u-1"), user_key("anonymous", "a-1"))


def test_a_group_call_gives_the_group_and_its_domain() -> None:
    websites = {
        "https://www.acme.example/about": "acme.example",
        "acme.example": "acme.example",
        "http://Shop.Acme.Example:8080": "shop.acme.example",
    }
    for website, domain in websites.items():
        call: dict[str, Any] = {
            "type": "group",
            "messageId": "g-1",
            "anonymousId": "a-1",
            "groupId": "ACME",
            "traits": {"website": website},
        }
        (message,) = parse(call, NOW)
        assert (message.call, message.group_id, message.domain) == (GROUP, "ACME", domain)
    numbers: dict[str, Any] = {"type": "group", "messageId": "g-2", "userId": 42, "groupId": 7}
    (message,) = parse({**numbers, "traits": {"domain": "globex.example"}}, NOW)
    assert (message.group_id, message.domain) == ("7", "globex.example")
    assert message.users == (user_key("user", "42"),)


def test_a_batch_keeps_order_and_lends_its_context_to_calls_without_one() -> None:
    document = {
        "batch": [
            track(messageId="m-0"),
            {"type": "page", "messageId": "m-1", "userId": "u-1", "name": "Home"},
            track(messageId="m-2", context={"groupId": "GLOBEX"}),
        ],
        "context": {"groupId": "ACME"},
    }
    messages = parse(document, NOW)
    assert [m.message_id for m in messages] == ["m-0", "m-1", "m-2"]
    assert [m.index for m in messages] == [0, 1, 2]
    assert [m.call for m in messages] == ["track", "page", "track"]
    assert [messages[0].group_id, messages[2].group_id] == ["ACME", "GLOBEX"]


def test_when_a_call_happened_is_its_timestamp_in_utc_never_later_than_its_arrival() -> None:
    def at(timestamp: str | None) -> dt.datetime:
        return parse(track(timestamp=timestamp), NOW)[0].at

    assert at("2026-11-19T23:30:00-05:00") == dt.datetime(2026, 11, 20, 4, 30, tzinfo=dt.UTC)
    assert at("2026-11-19T09:30:00") == dt.datetime(2026, 11, 19, 9, 30, tzinfo=dt.UTC)
    assert at(None) == NOW
    assert at("2027-01-01T00:00:00Z") == NOW  # a client clock running ahead


def test_a_user_id_and_an_anonymous_id_with_the_same_text_are_different_users() -> None:
    assert user_key("user", "123") != user_key("anonymous", "123")
    assert len(user_key("user", "jane@acme.example")) == 32
    assert "jane" not in user_key("user", "jane@acme.example")


def test_feature_names_read_like_the_usage_files_columns() -> None:
    assert feature_name("Report Exported") == "report_exported"
    assert feature_name("  dashboards--viewed!! ") == "dashboards_viewed"
    assert feature_name("!!!") is None
    assert feature_name("x" * 100) == "x" * 64


@pytest.mark.parametrize(
    ("document", "field", "reason"),
    [
        ([track()], "body", "expected a JSON object"),
        ({"batch": {"type": "track"}}, "batch", "expected a list of calls"),
        ({"batch": [track(), "track"]}, "batch[1]", "expected a call object"),
        ({"batch": [track(), track(type=None)]}, "batch[1].type", "is required"),
        ({"batch": [track(type="purchase")]}, "batch[0].type", "'purchase' is not a call"),
        ({"batch": [track(), track(messageId=None)]}, "batch[1].messageId", "is required"),
        ({"batch": [track(userId=None)]}, "batch[0].userId", "or anonymousId"),
        ({"batch": [track(), track(event=None)]}, "batch[1].event", "is required on a track"),
        ({"batch": [track(event="")]}, "batch[0].event", "is required on a track"),
        ({"batch": [track(timestamp="yesterday")]}, "batch[0].timestamp", "not an ISO-8601"),
        ({"batch": [track(timestamp=1700000000)]}, "batch[0].timestamp", "got a number"),
        ({"batch": [track(userId=["u-1"])]}, "batch[0].userId", "expected text, got a list"),
        ({"batch": [track(userId=True)]}, "batch[0].userId", "got true/false"),
        ({"batch": [track(messageId="m\x00")]}, "batch[0].messageId", "NUL"),
        ({"batch": [track(messageId="m" * 201)]}, "batch[0].messageId", "at most 200"),
        ({"batch": [track(properties=[1])]}, "batch[0].properties", "expected an object"),
        (
            {"batch": [track(properties={"feature": 3})]},
            "batch[0].properties.feature",
            "expected text",
        ),
        ({"batch": [track(context="ACME")]}, "batch[0].context", "expected an object"),
        ({"batch": [track(context={"groupId": {}})]}, "batch[0].context.groupId", "text"),
        (
            {"batch": [{"type": "group", "messageId": "g", "userId": "u"}]},
            "batch[0].groupId",
            "is required on a group call",
        ),
        (
            {"batch": [{"type": "identify", "messageId": "i", "userId": "u", "traits": "x"}]},
            "batch[0].traits",
            "expected an object",
        ),
        (track(event=None), "event", "is required on a track"),
    ],
)
def test_a_call_the_spec_does_not_allow_is_refused_naming_the_field(
    document: object, field: str, reason: str
) -> None:
    message = refused(document)
    assert message.startswith(f"body: field '{field}': "), message
    assert reason in message


def test_a_batch_over_the_limit_is_refused_before_any_call_is_read() -> None:
    message = refused({"batch": [None] * (MAX_MESSAGES + 1)})
    assert "'batch'" in message and f"at most {MAX_MESSAGES:,}" in message


def test_free_form_traits_and_properties_are_never_refused() -> None:
    call = track(properties={"feature": None, "nested": {"x": [1, None]}, "\x00": "y"})
    (message,) = parse({"batch": [call]}, NOW)
    assert message.feature == "report_exported"
    identify = {"type": "identify", "messageId": "i", "userId": "u", "traits": {"email": 5}}
    (message,) = parse(identify, NOW)
    assert message.email is None
    group = {"type": "group", "messageId": "g", "userId": "u", "groupId": "G", "traits": {}}
    assert parse({**group, "traits": {"website": "http://[::1"}}, NOW)[0].domain is None
