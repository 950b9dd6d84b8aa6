"""Closeloop's own survey webhook, signed the Standard Webhooks way.

For survey tools without a translator here (or an in-house form), the sender posts
Closeloop's neutral body and signs it as the Standard Webhooks specification says, so any of
its published libraries can produce the headers:
https://www.standardwebhooks.com/ and
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

- `webhook-id`: the message id; `webhook-timestamp`: unix seconds of the attempt;
- `webhook-signature`: a space-separated list of `v1,<base64 HMAC-SHA256>` over
  `{webhook-id}.{webhook-timestamp}.{raw body}`. A list, because during a secret rotation
  the sender signs with the old and the new secret at once; one valid `v1` entry is enough.
  Entries of other versions (`v1a,` is the spec's ed25519 scheme) are skipped, not failed,
  so a sender adding them later does not break this receiver.
- The secret is `whsec_<base64>`; the HMAC key is the decoded bytes, not the text.
- A timestamp more than five minutes from our clock, either way, is refused: the id and
  timestamp are signed, so a captured delivery cannot be replayed later with a fresh time.

The body (`survey` is nps, csat or ces; `comment`, `respondent` and
`account_external_id` may be left out or null)::

    {"response_id": "r-1", "survey": "nps", "score": 3, "comment": "Too slow",
     "respondent": {"email": "jane@acme.example", "name": "Jane Doe"},
     "account_external_id": "ACME", "submitted_at": "2026-11-20T09:30:00Z"}

`response_id` is the sender's id for the answer, not `webhook-id`: a sender that re-sends
an edited answer under a new message id must still land on the same stored answer.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
from collections.abc import Mapping

from adapters.platforms.webhooks.signatures import (
    SHA256,
    hmac_digest,
    identifier,
    integer,
    iso_time,
    load_object,
    optional_obj,
    optional_text,
    required_header,
    same_text,
    score_in_range,
    survey_kind,
    text,
    unauthorized,
)
from metrics_core.surveys.answers import SurveyAnswer

PROVIDER = "generic"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's marker, not a secret
TOLERANCE = dt.timedelta(minutes=5)
"""The replay window the Standard Webhooks reference libraries use."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key inside `whsec_<base64>`; the spec's libraries also accept it unprefixed.

    Raises ValueError (naming no part of the secret) when the text is not base64, so a
    mistyped secret fails at start-up instead of turning every delivery into a 401.
    """
    encoded = secret.strip()
    if encoded.startswith(SECRET_PREFIX):
        encoded = encoded[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the generic webhook secret must be 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("the generic webhook secret is empty after 'whsec_'")
    return key


def signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """The `v1` signature of a delivery: base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac_digest(key, signed, SHA256)).decode("ascii")


def new_secret() -> str:
    """A fresh secret in the format's form, `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signed_headers(secret: str, body: bytes, *, message_id: str, timestamp: int) -> dict[str, str]:
    """The headers a sender puts on a delivery (the playground signs its simulated answers
    with them): the same signature `verify` expects."""
    mark = signature(decode_secret(secret), message_id, str(timestamp), body)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{mark}",
    }


def verify(headers: Mapping[str, str], body: bytes, key: bytes, now: dt.datetime) -> None:
    """Raise WebhookError(401) unless one `v1` signature is valid and the timestamp is fresh.

    `headers` must already have lower-case names. The freshness check comes first because
    it costs nothing, but both run before the body is read.
    """
    message_id = required_header(headers, "webhook-id")
    timestamp = required_header(headers, "webhook-timestamp")
    signatures = required_header(headers, "webhook-signature")

    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise unauthorized("webhook-timestamp: not a unix time in seconds")
    skew = int(timestamp) - now.timestamp()
    if abs(skew) > TOLERANCE.total_seconds():
        direction = "in the future" if skew > 0 else "old"
        raise unauthorized(
            f"webhook-timestamp: {timestamp} is more than 5 minutes {direction}"
            " (replayed delivery, or the sender's clock is wrong)"
        )

    expected = signature(key, message_id, timestamp, body)
    valid = False
    for entry in signatures.split():
        version, comma, offered = entry.partition(",")
        # Every v1 entry is compared, without stopping early on a match, so the time taken
        # depends on how many entries were sent, not on which of them was right.
        if comma and version == "v1" and same_text(expected, offered):
            valid = True
    if not valid:
        raise unauthorized("webhook-signature: no valid v1 signature")


def parse(
    headers: Mapping[str, str], body: bytes, secret: str, now: dt.datetime
) -> list[SurveyAnswer]:
    """One answer from a verified delivery; `headers` must have lower-case names."""
    verify(headers, body, decode_secret(secret), now)

    data = load_object(body)
    kind = survey_kind(text(data, "survey", "survey"), "survey")
    respondent = optional_obj(data, "respondent", "respondent")
    account = optional_text(data, "account_external_id", "account_external_id")
    return [
        SurveyAnswer(
            provider=PROVIDER,
            response_id=identifier(data, "response_id", "response_id"),
            kind=kind,
            score=score_in_range(kind, integer(data, "score", "score"), "score"),
            submitted_at=iso_time(data, "submitted_at", "submitted_at"),
            comment=optional_text(data, "comment", "comment"),
            respondent_email=optional_text(respondent, "email", "respondent.email"),
            respondent_name=optional_text(respondent, "name", "respondent.name"),
            account_external_id=account,
        )
    ]
