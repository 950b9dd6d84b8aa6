"""Survey webhooks: verify a vendor's delivery, then translate it to `SurveyAnswer`.

The route `POST /webhooks/surveys/{provider}` hands over the provider name, the headers,
the raw body and the time; `parse_delivery` answers with the answers to store (often one,
none for events that are not answers, such as unsubscribes) or raises `WebhookError` with
the status to reply. The signature is always checked on the raw bytes before the body is
parsed, so a forged request never reaches the JSON parser, let alone the database.

Each vendor's scheme, payload mapping and sources are in its module's docstring:
`delighted`, `typeform`, `wootric`, and `generic` (Closeloop's own body, signed the
Standard Webhooks way, for everything else).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from adapters.platforms.webhooks import delighted, generic, typeform, wootric
from adapters.platforms.webhooks.signatures import WebhookError, lower_headers, malformed
from metrics_core.importing.kind import length
from metrics_core.store.models import Base, SurveyResponse
from metrics_core.surveys.answers import SurveyAnswer

PROVIDERS: tuple[str, ...] = ("delighted", "typeform", "wootric", "generic")

Parser = Callable[[Mapping[str, str], bytes, str, dt.datetime], list[SurveyAnswer]]


@dataclass(frozen=True)
class WebhookSecrets:
    """The shared secret of each provider; None (or blank) leaves that provider switched off.

    The fields are left out of `repr`, so a settings object in a log line or a traceback
    says which providers are on without printing a secret. A malformed generic secret
    raises ValueError here, at start-up, rather than failing every delivery with a 401.
    """

    generic: str | None = field(default=None, repr=False)
    """`whsec_<base64>`, as the Standard Webhooks specification serialises secrets."""
    delighted: str | None = field(default=None, repr=False)
    """The Delighted project's private API key: Delighted signs with it."""
    typeform: str | None = field(default=None, repr=False)
    """The secret set on the Typeform form's webhook."""
    wootric: str | None = field(default=None, repr=False)
    """The secret token on Wootric's Outgoing Webhooks settings page."""

    def __post_init__(self) -> None:
        if self.generic is not None and self.generic.strip():
            generic.decode_secret(self.generic)

    def __repr__(self) -> str:
        return f"WebhookSecrets(configured={list(self.configured())!r})"

    def for_provider(self, provider: str) -> str | None:
        """The provider's secret, or None when it is unset or blank.

        A blank secret counts as unset: an HMAC keyed with "" is one anyone can compute,
        and `FOO_SECRET=` in an env file more likely means "off" than "sign with nothing".
        """
        secret: str | None = getattr(self, provider, None) if provider in PROVIDERS else None
        return secret if secret is not None and secret.strip() else None

    def configured(self) -> tuple[str, ...]:
        """The providers that have a secret, in `PROVIDERS` order."""
        return tuple(name for name in PROVIDERS if self.for_provider(name) is not None)


def _parser(provider: str) -> Parser:
    parsers: dict[str, Parser] = {
        "delighted": delighted.parse,
        "typeform": typeform.parse,
        "wootric": wootric.parse,
        "generic": generic.parse,
    }
    return parsers[provider]


def parse_delivery(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: WebhookSecrets,
    now: dt.datetime,
) -> list[SurveyAnswer]:
    """The survey answers in one signed delivery, or a WebhookError to answer with.

    `headers` may be aiohttp's case-insensitive multidict or a plain dict; names are folded
    to lower case here. `now` must carry a time zone: it is compared with the signed
    timestamp of generic deliveries. An empty list means "accepted, nothing to store"; the
    route should still answer 2xx so that the vendor does not retry.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if provider not in PROVIDERS:
        shown = provider if len(provider) <= 40 else provider[:37] + "..."
        raise WebhookError(404, f"unknown survey webhook provider {shown!r}")
    secret = secrets.for_provider(provider)
    if secret is None:
        raise WebhookError(404, f"{provider}: survey webhooks from {provider} are not configured")
    answers = _parser(provider)(lower_headers(headers), body, secret, now)
    return [_storable(answer) for answer in answers]


_ANSWERS = Base.metadata.tables[SurveyResponse.__tablename__].c
# Each answer text and the most characters its column holds (None: unlimited text).
_STORED_TEXT: dict[str, int | None] = {
    "response_id": length(_ANSWERS.provider_response_id),
    "respondent_email": length(_ANSWERS.respondent_email),
    "respondent_name": length(_ANSWERS.respondent_name),
    "comment": length(_ANSWERS.comment),
}


def _storable(answer: SurveyAnswer) -> SurveyAnswer:
    """The answer, if the database can hold each of its texts; else a 400 naming the field.

    SQLite would store a 300-character name or a NUL character; PostgreSQL refuses both,
    and a refusal there would answer 503, which the vendor retries for ever. Such text is
    the sender's to fix, so it is refused the same way on every database. An account id
    with a NUL names no account, so it is dropped and the answer matched by email instead,
    as with any other unusable custom property.
    """
    for name, limit in _STORED_TEXT.items():
        value = getattr(answer, name)
        if value is None:
            continue
        if "\x00" in value:
            raise malformed(name, "contains a NUL character, which is not text")
        if limit is not None and len(value) > limit:
            raise malformed(name, f"{len(value):,} characters, more than the {limit} stored")
    if answer.account_external_id is not None and "\x00" in answer.account_external_id:
        return dataclasses.replace(answer, account_external_id=None)
    return answer


__all__ = ["PROVIDERS", "SurveyAnswer", "WebhookError", "WebhookSecrets", "parse_delivery"]
