"""Wootric's (InMoment's) outgoing webhooks, translated to `SurveyAnswer`.

Sources:
- Events, payloads and the signature: https://docs.wootric.com/webhooks/
  (its source: https://github.com/Wootric/slate, `source/includes/_webhooks.md`)
- A real delivery's shape, with quoted numbers and `"YYYY-MM-DD HH:MM:SS -0700"` times:
  https://gist.github.com/sgnl/4c05e861be5162cc395342f95f7414ae

Signature. Wootric sends `X-Wootric-Signature: sha1=<hex>`, the HMAC-SHA1 of the raw body
keyed with the account's webhook secret token, shown on Settings → Outgoing Webhooks.
(HMAC-SHA1 is still a sound MAC; SHA-1's collision weakness does not carry over to HMAC.)
The operator puts that token in `WOOTRIC_WEBHOOK_SECRET`, enables the webhook on the same
page with the URL `https://<host>/webhooks/surveys/wootric`, ticks "response created" and
"response updated", and picks the JSON payload format: the URL-encoded one is refused
with a 400 saying so. Wootric signs no timestamp; a replayed delivery carries the same
response id and lands on the already stored answer.

Payload. `{"response": {...}, "event_name": "created" | "updated", "survey_mode": "NPS"}`:

- response id `response.id` (the same for "created" and "updated", so a later comment
  updates the stored answer); submitted at `response.created_at`;
- score `response.score`, comment `response.text`;
- respondent `response.email`; name from the end-user property `name` (Wootric has no
  name field);
- account: end-user property `account_external_id` (or `account_id`), from
  `response.end_user_properties` — set it in the Wootric snippet's `properties` or when
  creating the end user. The nested `response.end_user.{email,properties}` shape of
  Wootric's REST API is read too, when the flat fields are absent;
- survey kind: `survey_mode` (NPS, CSAT or CES); absent means NPS, as in older deliveries.

A `{"decline": {...}}` delivery (the end user dismissed the survey) is accepted and ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from adapters.platforms.webhooks.signatures import (
    ACCOUNT_KEYS,
    SHA1,
    WebhookError,
    hmac_digest,
    identifier,
    integer,
    iso_time,
    load_object,
    malformed,
    obj,
    optional_obj,
    optional_text,
    property_lookup,
    required_header,
    same_text,
    score_in_range,
    survey_kind,
    unauthorized,
)
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.answers import SurveyAnswer

PROVIDER = "wootric"
SIGNATURE_HEADER = "X-Wootric-Signature"
NAME_KEYS = ("name", "full_name")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Raise WebhookError(401) unless the header is `sha1=` and the body's hex HMAC-SHA1."""
    received = required_header(headers, SIGNATURE_HEADER)
    if received[:5].lower() != "sha1=":
        raise unauthorized(f"{SIGNATURE_HEADER}: expected 'sha1=<hex digest>'")
    expected = hmac_digest(secret.encode("utf-8"), body, SHA1).hex()
    if not same_text(expected, received[5:].strip().lower()):
        raise unauthorized(f"{SIGNATURE_HEADER}: signature does not match the body")


def _load(body: bytes) -> dict[str, Any]:
    try:
        return load_object(body)
    except WebhookError:
        if body.lstrip().startswith((b"response[", b"decline[", b"response%5B", b"decline%5B")):
            raise WebhookError(
                400,
                "body: URL-encoded, not JSON; choose the JSON payload format in Wootric's"
                " Outgoing Webhooks settings",
            ) from None
        raise


def _wootric_time(data: Mapping[str, Any], key: str, path: str) -> dt.datetime:
    """ISO 8601, or the `2018-03-28 15:06:20 -0700` form older deliveries used."""
    raw = data.get(key)
    if isinstance(raw, str):
        try:
            return dt.datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S %z").astimezone(dt.UTC)
        except ValueError:
            pass
    return iso_time(data, key, path)


def parse(
    headers: Mapping[str, str], body: bytes, secret: str, now: dt.datetime
) -> list[SurveyAnswer]:
    """The answer in a verified response event, or none for a decline."""
    del now  # Wootric signs no timestamp; see the module docstring on replays.
    verify(headers, body, secret)

    data = _load(body)
    if "response" not in data:
        if "decline" in data:
            return []
        raise malformed("response", "is missing (neither a response nor a decline event)")
    response = obj(data, "response", "response")

    mode = optional_text(data, "survey_mode", "survey_mode")
    kind = survey_kind(mode, "survey_mode") if mode else SurveyKind.NPS
    end_user = optional_obj(response, "end_user", "response.end_user")
    properties = optional_obj(
        response, "end_user_properties", "response.end_user_properties"
    ) or optional_obj(end_user, "properties", "response.end_user.properties")
    email = optional_text(response, "email", "response.email") or optional_text(
        end_user, "email", "response.end_user.email"
    )
    score = integer(response, "score", "response.score", digits_ok=True)
    return [
        SurveyAnswer(
            provider=PROVIDER,
            response_id=identifier(response, "id", "response.id"),
            kind=kind,
            score=score_in_range(kind, score, "response.score"),
            submitted_at=_wootric_time(response, "created_at", "response.created_at"),
            comment=optional_text(response, "text", "response.text"),
            respondent_email=email,
            respondent_name=property_lookup(properties, NAME_KEYS),
            account_external_id=property_lookup(properties, ACCOUNT_KEYS),
        )
    ]
