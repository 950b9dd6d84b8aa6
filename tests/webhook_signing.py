"""Survey webhook deliveries as each vendor sends them: signed headers and realistic bodies.

For tests only. The signing is written out here from the vendors' documentation, not
imported from `adapters.platforms.webhooks`, so a test that signs with these helpers and verifies
with the adapter checks the adapter against the documented scheme, not against itself.

Typical use::

    body = typeform_payload(response_id="tok-1", score=3, email="jane@acme.example")
    headers = sign_typeform(TYPEFORM_SECRET, body)
    # POST body with headers to /webhooks/surveys/typeform

Every payload builder takes keyword arguments only and has defaults for all of them, so a
test names just what it cares about. `submitted_at` is a timezone-aware datetime; each
builder writes it in the vendor's own format.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

JSON = {"Content-Type": "application/json"}

GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""The secret of the Standard Webhooks test vector (libraries/python/tests in
github.com/standard-webhooks/standard-webhooks), reused so no test invents key material."""
DELIGHTED_SECRET = "dl-project-api-key-0123456789abcdef"
TYPEFORM_SECRET = "tf-webhook-secret-4f9d2c7a1b"
WOOTRIC_SECRET = "09dfb1b73af998743fb011f8bfda8912"

SUBMITTED_AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- Signatures ----------------------------------------------------------------------------


def sign_generic(
    secret: str, body: bytes, *, msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", timestamp: int
) -> dict[str, str]:
    """Standard Webhooks headers: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.

    The key is the base64-decoded part of `whsec_<base64>`, not the secret's text.
    """
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        **JSON,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


def sign_delighted(api_key: str, body: bytes) -> dict[str, str]:
    """Delighted: `sha256=` and the hex HMAC-SHA256 of the body under the project's API key."""
    digest = hmac.new(api_key.encode(), body, hashlib.sha256).hexdigest()
    return {**JSON, "X-Delighted-Webhook-Signature": f"sha256={digest}"}


def sign_typeform(secret: str, body: bytes) -> dict[str, str]:
    """Typeform: `sha256=` and the base64 (not hex) HMAC-SHA256 of the body."""
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return {**JSON, "Typeform-Signature": f"sha256={digest.decode()}"}


def sign_wootric(secret: str, body: bytes) -> dict[str, str]:
    """Wootric: `sha1=` and the hex HMAC-SHA1 of the body under the account's webhook token."""
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {**JSON, "X-Wootric-Signature": f"sha1={digest}"}


# --- Payloads ------------------------------------------------------------------------------


def generic_payload(
    *,
    response_id: str = "r-1",
    kind: str = "nps",
    score: Any = 9,
    comment: str | None = "Quick support, thanks",
    email: str | None = "jane@acme.example",
    name: str | None = "Jane Doe",
    account_external_id: str | None = "ACME",
    submitted_at: dt.datetime = SUBMITTED_AT,
) -> bytes:
    """Closeloop's neutral body; `score` is `Any` so tests can send wrong types."""
    payload: dict[str, Any] = {
        "response_id": response_id,
        "survey": kind,
        "score": score,
        "comment": comment,
        "respondent": {"email": email, "name": name},
        "submitted_at": submitted_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    if account_external_id is not None:
        payload["account_external_id"] = account_external_id
    return _dumps(payload)


def delighted_payload(
    *,
    response_id: str = "5435",
    kind: str = "nps",
    score: Any = 9,
    comment: str | None = "Your service is fast and flawless!",
    email: str | None = "jane@acme.example",
    name: str | None = "Jane Doe",
    account_external_id: str | None = "ACME",
    submitted_at: dt.datetime = SUBMITTED_AT,
    event_type: str = "survey_response.updated",
) -> bytes:
    """A Delighted response event, shaped like the example in Delighted's webhook docs.

    `kind` is Delighted's `survey_type` (nps, csat, ces, enps, ...); the account id travels
    as the person property "Account ID", as an operator would type it in Delighted.
    """
    created = int(submitted_at.timestamp())
    properties = {"Account ID": account_external_id} if account_external_id else None
    return _dumps(
        {
            "event_type": event_type,
            "event_id": hashlib.sha256(f"{response_id}/{event_type}".encode()).hexdigest(),
            "event_data": {
                "id": response_id,
                "person": {"id": "5975", "email": email, "name": name, "created_at": created - 60},
                "survey_type": kind,
                "score": score,
                "comment": comment,
                "permalink": f"https://app.delighted.com/r/{response_id}",
                "created_at": created,
                "updated_at": created + 600,
                "person_properties": properties,
                "notes": [],
                "tags": [],
                "additional_answers": [],
            },
        }
    )


def delighted_unsubscribe_payload(*, email: str = "jane@acme.example") -> bytes:
    """Delighted's `unsubscribe.created`: not an answer, to be accepted and ignored."""
    return _dumps(
        {
            "event_type": "unsubscribe.created",
            "event_id": hashlib.sha256(email.encode()).hexdigest(),
            "event_data": {"person_id": "5975", "email": email, "unsubscribed_at": 1763630000},
        }
    )


def typeform_payload(
    *,
    response_id: str = "a3a12ec67a1365927098a606107fac15",
    kind: str | None = None,
    score: Any = 9,
    comment: str | None = "Onboarding was smooth",
    email: str | None = "jane@acme.example",
    name: str | None = "Jane Doe",
    account_external_id: str | None = "ACME",
    submitted_at: dt.datetime = SUBMITTED_AT,
    score_field_type: str = "nps",
    event_type: str = "form_response",
) -> bytes:
    """A Typeform `form_response` for a score question plus a comment question.

    `response_id` is the response `token`; `kind` goes in the hidden field `survey` (None
    leaves it out, meaning NPS); email, name and account id are hidden fields, as the
    survey link would carry them.
    """
    hidden = {
        key: value
        for key, value in {
            "survey": kind,
            "email": email,
            "name": name,
            "account_external_id": account_external_id,
        }.items()
        if value is not None
    }
    fields = [
        {
            "id": "nB3ZkTq1",
            "title": "How likely are you to recommend us?",
            "type": score_field_type,
            "ref": "score",
        },
        {
            "id": "DlXFaesG",
            "title": "What is the main reason for your score?",
            "type": "long_text",
            "ref": "comment",
        },
    ]
    answers: list[dict[str, Any]] = [
        {
            "type": "number",
            "number": score,
            "field": {key: fields[0][key] for key in ("id", "type", "ref")},
        }
    ]
    if comment is not None:
        answers.append(
            {
                "type": "text",
                "text": comment,
                "field": {key: fields[1][key] for key in ("id", "type", "ref")},
            }
        )
    submitted = submitted_at.astimezone(dt.UTC)
    return _dumps(
        {
            "event_id": f"01H{response_id[:10].upper()}",
            "event_type": event_type,
            "form_response": {
                "form_id": "lT4Z3j",
                "token": response_id,
                "landed_at": (submitted - dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "submitted_at": submitted.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "hidden": hidden,
                "calculated": {"score": 0},
                "definition": {"id": "lT4Z3j", "title": "Customer survey", "fields": fields},
                "answers": answers,
            },
        }
    )


def wootric_payload(
    *,
    response_id: int = 1128,
    kind: str = "NPS",
    score: Any = 9,
    comment: str | None = "Great product",
    email: str | None = "jane@acme.example",
    name: str | None = "Jane Doe",
    account_external_id: str | None = "ACME",
    submitted_at: dt.datetime = SUBMITTED_AT,
    event_name: str = "created",
) -> bytes:
    """A Wootric response event, shaped like the JSON sample in Wootric's webhook docs.

    `kind` is Wootric's `survey_mode` (NPS, CSAT, CES); name and account id travel as
    end-user properties, since Wootric has no fields for them.
    """
    properties = {"pricing_plan": "Enterprise"}
    if name is not None:
        properties["name"] = name
    if account_external_id is not None:
        properties["account_external_id"] = account_external_id
    local = submitted_at.astimezone(dt.timezone(dt.timedelta(hours=-8)))
    return _dumps(
        {
            "response": {
                "id": response_id,
                "email": email,
                "external_id": "user-123",
                "score": score,
                "text": comment,
                "ip_address": "127.0.0.1",
                "origin_url": "https://app.acme.example/",
                "end_user_id": 30,
                "end_user_properties": properties,
                "survey_id": 1146,
                "created_at": local.isoformat(timespec="milliseconds"),
                "updated_at": local.isoformat(timespec="milliseconds"),
                "excluded_from_calculations": False,
            },
            "event_name": event_name,
            "timestamp": local.isoformat(timespec="milliseconds"),
            "account_token": "NPS-xxxxxxxx",
            "survey_mode": kind,
        }
    )


def wootric_decline_payload(*, email: str = "jane@acme.example") -> bytes:
    """Wootric's "decline created": the end user dismissed the survey; nothing to store."""
    return _dumps(
        {
            "decline": {
                "id": 19,
                "email": email,
                "external_id": "user-123",
                "end_user_id": 31,
                "end_user_properties": {"pricing_plan": "Pro"},
                "survey_id": 1147,
                "created_at": "2026-11-20T01:30:00.000-08:00",
                "updated_at": "2026-11-20T01:30:00.000-08:00",
            },
            "event_name": "created",
            "timestamp": "2026-11-20T01:30:02.000-08:00",
            "account_token": "NPS-xxxxxxxx",
            "survey_mode": "NPS",
        }
    )
