"""Delighted's response webhooks, translated to `SurveyAnswer`.

Sources:
- Webhook events and payload: https://app.delighted.com/docs/api/webhooks
  (same page at https://delighted.com/docs/api/webhooks)
- Survey types: https://help.delighted.com/article/530-survey-types-overview

Signature. Delighted sends `X-Delighted-Webhook-Signature`, an HMAC-SHA256 of the raw body
keyed with the project's private API key (Delighted → Integrations → API; each project has
its own key). The value seen in production integrations is `sha256=<hex digest>`, e.g.
https://github.com/kiteco/kiteco-public (kite-go/.../delighted.go `verifyWebhook`); a bare hex
digest is accepted as well, because the docs describe the digest but not the prefix. The
operator puts that API key in `DELIGHTED_WEBHOOK_SECRET`, and adds
`https://<host>/webhooks/surveys/delighted` under Integrations → Webhooks.

Delighted signs no timestamp, so a captured delivery could be replayed; that is harmless
here because a replay carries the same response id and lands on the already stored answer.

Payload. `survey_response.created` fires when a score is picked and
`survey_response.updated` whenever the score or comment changes (the comment usually only
arrives in the update). Both carry the same `event_data.id`, which becomes `response_id`,
so the update overwrites the first version instead of adding a second answer.

- score `event_data.score`, comment `event_data.comment`;
- respondent `event_data.person.email` / `.name`;
- account: `event_data.person_properties` key `account_external_id` or `account_id`
  (case, spaces and hyphens ignored, so "Account ID" works) — send it as a property when
  surveying the person;
- submitted at `event_data.created_at` (unix seconds; the first answer, not the edit).

Survey kind, from `event_data.survey_type`: `nps`, `csat` and `ces` map one to one (absent
means NPS: Delighted was NPS-only before it had survey types). Delighted's other types —
eNPS (employees, not customers), 5-star, smileys, thumbs and PMF — measure something else
on other scales; storing them as NPS or CSAT would skew every report, so their deliveries
are accepted and ignored (an empty list), which stops Delighted retrying a delivery that
will never be stored. A type not in either list is a 400, so a new Delighted type shows up
in the delivery log instead of disappearing. `unsubscribe.created` and any other event that
is not a response are accepted and ignored too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from adapters.platforms.webhooks.signatures import (
    ACCOUNT_KEYS,
    SHA256,
    hmac_digest,
    identifier,
    integer,
    load_object,
    malformed,
    obj,
    optional_obj,
    optional_text,
    property_lookup,
    required_header,
    same_text,
    score_in_range,
    shown,
    text,
    unauthorized,
    unix_time,
)
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.answers import SurveyAnswer

PROVIDER = "delighted"
SIGNATURE_HEADER = "X-Delighted-Webhook-Signature"
RESPONSE_EVENTS = frozenset({"survey_response.created", "survey_response.updated"})

KINDS: dict[str, SurveyKind] = {
    "nps": SurveyKind.NPS,
    "csat": SurveyKind.CSAT,
    "ces": SurveyKind.CES,
}
IGNORED_TYPES = frozenset(
    {"enps", "pmf", "smileys", "smiley", "thumbs", "five_star", "5_star", "stars", "star"}
)
"""Delighted survey types that are not customer NPS/CSAT/CES; spellings vary, so several."""


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Raise WebhookError(401) unless the header holds the body's HMAC under the API key."""
    received = required_header(headers, SIGNATURE_HEADER)
    if received[:7].lower() == "sha256=":
        received = received[7:]
    expected = hmac_digest(secret.encode("utf-8"), body, SHA256).hex()
    if not same_text(expected, received.strip().lower()):
        raise unauthorized(f"{SIGNATURE_HEADER}: signature does not match the body")


def parse(
    headers: Mapping[str, str], body: bytes, secret: str, now: dt.datetime
) -> list[SurveyAnswer]:
    """The answer in a verified delivery, or none for unsubscribes and unmapped survey types."""
    del now  # Delighted signs no timestamp; see the module docstring on replays.
    verify(headers, body, secret)

    data = load_object(body)
    if text(data, "event_type", "event_type") not in RESPONSE_EVENTS:
        return []
    event = obj(data, "event_data", "event_data")

    survey_type = optional_text(event, "survey_type", "event_data.survey_type")
    if survey_type is None:
        kind = SurveyKind.NPS
    elif survey_type.lower() in KINDS:
        kind = KINDS[survey_type.lower()]
    elif survey_type.lower() in IGNORED_TYPES:
        return []
    else:
        raise malformed(
            "event_data.survey_type",
            f"Delighted survey type {shown(survey_type)} has no mapping (known: nps, csat, ces)",
        )

    person = optional_obj(event, "person", "event_data.person")
    properties = optional_obj(event, "person_properties", "event_data.person_properties")
    score = integer(event, "score", "event_data.score")
    return [
        SurveyAnswer(
            provider=PROVIDER,
            response_id=identifier(event, "id", "event_data.id"),
            kind=kind,
            score=score_in_range(kind, score, "event_data.score"),
            submitted_at=unix_time(event, "created_at", "event_data.created_at"),
            comment=optional_text(event, "comment", "event_data.comment"),
            respondent_email=optional_text(person, "email", "event_data.person.email"),
            respondent_name=optional_text(person, "name", "event_data.person.name"),
            account_external_id=property_lookup(properties, ACCOUNT_KEYS),
        )
    ]
