"""Typeform's `form_response` webhooks, translated to `SurveyAnswer`.

Sources:
- Signature: https://www.typeform.com/developers/webhooks/secure-your-webhooks/
- Payload: https://www.typeform.com/developers/webhooks/example-payload/
- Answer and field types: https://www.typeform.com/developers/responses/JSON-response-explanation/

Signature. With a secret set on the webhook, Typeform sends `Typeform-Signature:
sha256=<base64>`, the base64 (not hex) HMAC-SHA256 of the raw body keyed with that secret.
The operator generates a random secret, sets it on the form's webhook (Connect → Webhooks →
Edit → Secret, or the `secret` of `PUT /forms/{form_id}/webhooks/{tag}`) and puts the same
text in `TYPEFORM_WEBHOOK_SECRET`; the URL is `https://<host>/webhooks/surveys/typeform`.
Typeform signs no timestamp; a replayed delivery carries the same response token and lands
on the already stored answer.

Payload. A form is free-form, so the translation looks for what a survey form has:

- response id: `form_response.token`, Typeform's id for the submission (the same on every
  re-delivery); submitted at `form_response.submitted_at`;
- score: the `number` of the first answer to a field of type `nps`, else `opinion_scale`,
  else `rating`. A submission without one is a 400: make the score question required;
- comment: the text answer to the field whose `ref` is `comment`, else the first
  `long_text` answer, else the first `short_text` answer. Set the comment field's ref to
  `comment` (the question's settings in the form builder) if the form has other text
  questions, such as the respondent's name;
- respondent: hidden fields `email` and `name`, falling back to an `email` question;
- account: hidden field `account_external_id` (or `account_id`);
- survey kind: NPS unless hidden field `survey` says `csat` or `ces`. Add a hidden field
  named `survey` to a CSAT or CES form and put `survey=csat` (or `ces`) in its link, e.g.
  `https://acme.typeform.com/to/AbC123#survey=csat&email=jane@acme.example`.

Other event types (`form_response_partial`, for unfinished forms) are accepted and ignored.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any

from adapters.platforms.webhooks.signatures import (
    ACCOUNT_KEYS,
    SHA256,
    array,
    check_prefixed_signature,
    hmac_digest,
    integer,
    iso_time,
    load_object,
    malformed,
    obj,
    optional_obj,
    optional_text,
    property_lookup,
    required_header,
    score_in_range,
    survey_kind,
    text,
)
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.answers import SurveyAnswer

PROVIDER = "typeform"
SIGNATURE_HEADER = "Typeform-Signature"
SCORE_FIELD_TYPES = ("nps", "opinion_scale", "rating")
"""In order of preference: an NPS question is the survey's score even next to a rating."""
COMMENT_REF = "comment"


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Raise WebhookError(401) unless the header is `sha256=` and the body's base64 HMAC."""
    received = required_header(headers, SIGNATURE_HEADER)
    digest = hmac_digest(secret.encode("utf-8"), body, SHA256)
    expected = base64.b64encode(digest).decode("ascii")
    check_prefixed_signature(SIGNATURE_HEADER, received, "sha256=", expected)


def _answers(response: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], str | None]]:
    """Each answer with its JSON path and its field's type; shape errors name the answer."""
    found = []
    for index, answer in enumerate(array(response, "answers", "form_response.answers")):
        path = f"form_response.answers[{index}]"
        if not isinstance(answer, dict):
            raise malformed(path, "expected an object")
        field = obj(answer, "field", f"{path}.field")
        found.append((path, answer, optional_text(field, "type", f"{path}.field.type")))
    return found


def _score(answers: list[tuple[str, dict[str, Any], str | None]], kind: SurveyKind) -> int:
    for wanted in SCORE_FIELD_TYPES:
        for path, answer, field_type in answers:
            if field_type == wanted:
                score = integer(answer, "number", f"{path}.number")
                return score_in_range(kind, score, f"{path}.number")
    raise malformed(
        "form_response.answers", "no answer to an nps, opinion_scale or rating question"
    )


def _comment(answers: list[tuple[str, dict[str, Any], str | None]]) -> str | None:
    by_ref = [
        (path, answer)
        for path, answer, _ in answers
        if isinstance(answer.get("field"), dict) and answer["field"].get("ref") == COMMENT_REF
    ]
    for field_type in ("long_text", "short_text"):
        by_ref += [(path, answer) for path, answer, kind in answers if kind == field_type]
    for path, answer in by_ref:
        comment = optional_text(answer, "text", f"{path}.text")
        if comment is not None:
            return comment
    return None


def _email_answer(answers: list[tuple[str, dict[str, Any], str | None]]) -> str | None:
    for path, answer, _ in answers:
        if answer.get("type") == "email":
            return optional_text(answer, "email", f"{path}.email")
    return None


def parse(
    headers: Mapping[str, str], body: bytes, secret: str, now: dt.datetime
) -> list[SurveyAnswer]:
    """The answer in a verified `form_response`, or none for other event types."""
    del now  # Typeform signs no timestamp; see the module docstring on replays.
    verify(headers, body, secret)

    data = load_object(body)
    if text(data, "event_type", "event_type") != "form_response":
        return []
    response = obj(data, "form_response", "form_response")
    hidden = optional_obj(response, "hidden", "form_response.hidden")

    survey = optional_text(hidden, "survey", "form_response.hidden.survey")
    kind = survey_kind(survey, "form_response.hidden.survey") if survey else SurveyKind.NPS
    answers = _answers(response)
    return [
        SurveyAnswer(
            provider=PROVIDER,
            response_id=text(response, "token", "form_response.token"),
            kind=kind,
            score=_score(answers, kind),
            submitted_at=iso_time(response, "submitted_at", "form_response.submitted_at"),
            comment=_comment(answers),
            respondent_email=optional_text(hidden, "email", "form_response.hidden.email")
            or _email_answer(answers),
            respondent_name=optional_text(hidden, "name", "form_response.hidden.name"),
            account_external_id=property_lookup(hidden, ACCOUNT_KEYS),
        )
    ]
