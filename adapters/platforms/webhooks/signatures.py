"""What every survey webhook shares: the error, header lookup, constant-time checks, JSON reads.

Each vendor signs differently, but the rules around the signature are the same: look the
header up case-insensitively (aiohttp hands over a `CIMultiDict`, tests a plain dict),
compare digests with `hmac.compare_digest` so that the time a comparison takes says nothing
about how much of a forged signature was right, and only then read the body. The readers
below turn "the vendor sent something we did not expect" into a `WebhookError(400)` whose
message names the JSON path, so an operator reading the vendor's delivery log can tell
which field was wrong without the body being logged here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from metrics_core.store.models import SCORE_RANGES, SurveyKind

DigestMaker = Callable[[], Any]
"""A `hashlib` constructor such as `hashlib.sha256`, as `hmac.new` takes it."""

_DIGITS = re.compile(r"-?[0-9]{1,9}")

SHA256: DigestMaker = hashlib.sha256
SHA1: DigestMaker = hashlib.sha1


class WebhookError(Exception):
    """A delivery refused at the edge, with the HTTP status the route should answer.

    400: the payload is malformed; 401: the signature is missing, wrong or stale; 404: the
    provider is unknown or not configured. `message` names the problem for the vendor's
    delivery log and ours. It is built only from header names, field paths and the sender's
    own values, never from a secret or a digest computed with one.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"WebhookError({self.status}, {self.message!r})"


def unauthorized(message: str) -> WebhookError:
    return WebhookError(401, message)


def malformed(path: str, problem: str) -> WebhookError:
    """A 400 naming the JSON path, e.g. `body: field 'score': 11 is outside 0..10`."""
    return WebhookError(400, f"body: field '{path}': {problem}")


# --- Headers ---------------------------------------------------------------------------


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names folded to lower case, so `Typeform-Signature` and `typeform-signature` match.

    A `CIMultiDict` may repeat a name; the last value wins, as it would for any dict. A
    sender cannot gain by repeating a signature header: every value still has to verify.
    """
    return {name.lower(): value for name, value in headers.items()}


def required_header(headers: Mapping[str, str], name: str) -> str:
    """A header the signature scheme needs; missing or blank is a 401, not a 400.

    An unsigned request is indistinguishable from a forged one, so it gets the same answer.
    """
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise unauthorized(f"{name}: header is missing")
    return value


# --- Constant-time comparison -----------------------------------------------------------


def hmac_digest(key: bytes, message: bytes, digest: DigestMaker) -> bytes:
    return hmac.new(key, message, digest).digest()


def same_text(expected: str, received: str) -> bool:
    """Constant-time equality of two signature strings.

    `hmac.compare_digest` refuses `str` with non-ASCII characters (a TypeError a forger
    could trigger at will), so both sides are compared as UTF-8 bytes instead.
    """
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def check_prefixed_signature(header: str, value: str, prefix: str, expected: str) -> None:
    """Verify `<prefix><expected>` against a header value such as `sha256=…`, or raise 401.

    The prefix is compared too (it is public, so no secret leaks through its timing), which
    keeps a signature made with another algorithm from being accepted by accident.
    """
    if not same_text(prefix + expected, value.strip()):
        raise unauthorized(f"{header}: signature does not match the body")


# --- Reading the JSON body --------------------------------------------------------------


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why not (never echoing the body itself)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookError(400, f"body: not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WebhookError(
            400, f"body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise WebhookError(400, "body: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise WebhookError(400, f"body: expected a JSON object, got {_json_type(data)}")
    return data


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def shown(value: object) -> str:
    """A sender's value, short enough for a log line; strings keep their quotes."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, int) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def obj(data: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        raise malformed(path, "is missing")
    if not isinstance(value, dict):
        raise malformed(path, f"expected an object, got {_json_type(value)}")
    return value


def optional_obj(data: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    """An object that vendors may send as null or leave out (e.g. Delighted's properties)."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise malformed(path, f"expected an object, got {_json_type(value)}")
    return value


def array(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise malformed(path, f"expected an array, got {_json_type(value)}")
    return value


def text(data: Mapping[str, Any], key: str, path: str) -> str:
    """A required, non-blank string."""
    value = optional_text(data, key, path)
    if value is None:
        raise malformed(path, "is missing")
    return value


def optional_text(data: Mapping[str, Any], key: str, path: str) -> str | None:
    """A string that may be absent, null or blank; all three mean "not given"."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise malformed(path, f"expected a string, got {_json_type(value)}")
    stripped = value.strip()
    return stripped or None


def identifier(data: Mapping[str, Any], key: str, path: str) -> str:
    """A vendor id, which some send as a number and some as a string; stored as a string."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(data, key, path)


def integer(data: Mapping[str, Any], key: str, path: str, *, digits_ok: bool = False) -> int:
    """A whole number; JSON `true` is not 1 and `9.5` is not 9.

    `digits_ok` admits "10" for vendors whose JSON is known to quote numbers (Wootric).
    """
    value = data.get(key)
    if value is None:
        raise malformed(path, "is missing")
    if isinstance(value, bool):
        raise malformed(path, f"expected a whole number, got {_json_type(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if digits_ok and isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    raise malformed(path, f"expected a whole number, got {shown(value)}")


def score_in_range(kind: SurveyKind, score: int, path: str) -> int:
    low, high = SCORE_RANGES[kind]
    if not low <= score <= high:
        raise malformed(path, f"{score} is outside {low}..{high} for {kind.value}")
    return score


def survey_kind(value: str, path: str) -> SurveyKind:
    try:
        return SurveyKind(value.strip().lower())
    except ValueError:
        known = ", ".join(kind.value for kind in SurveyKind)
        raise malformed(path, f"unknown survey kind {shown(value)} (expected {known})") from None


def unix_time(data: Mapping[str, Any], key: str, path: str) -> dt.datetime:
    seconds = integer(data, key, path)
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise malformed(path, f"{seconds} is not a usable unix time") from None


def iso_time(data: Mapping[str, Any], key: str, path: str) -> dt.datetime:
    """An ISO 8601 instant with an explicit offset, as UTC.

    A time without an offset is refused rather than assumed UTC: a guessed zone would
    quietly move the answer across a day or month boundary in the reports.
    """
    raw = text(data, key, path)
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise malformed(path, f"{shown(raw)} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise malformed(path, f"{shown(raw)} has no time zone offset")
    return moment.astimezone(dt.UTC)


def property_lookup(properties: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    """The first of `names` among free-form vendor properties, matched loosely.

    Operators type these keys by hand in vendor dashboards ("Account ID", "account-id",
    "account_id"), so case, spaces and hyphens are ignored. Numbers are accepted as ids;
    anything else that is not a non-blank string counts as absent rather than an error,
    because one odd custom property should not make a whole response undeliverable.
    """
    folded: dict[str, Any] = {}
    for key, value in properties.items():
        folded.setdefault(key.strip().lower().replace(" ", "_").replace("-", "_"), value)
    for name in names:
        value = folded.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


ACCOUNT_KEYS = ("account_external_id", "account_id")
"""The property names an operator can use to say which account a respondent belongs to."""
