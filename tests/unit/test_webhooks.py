"""Survey webhooks: each vendor's signature is checked before parsing, and payloads translate.

Deliveries are signed by `tests/webhook_signing.py`, which implements each vendor's scheme
from its documentation independently of the adapter. The generic verifier is also checked
against the Standard Webhooks test vector (see `test_standard_webhooks_published_vector`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable

import pytest
from multidict import CIMultiDict

from adapters.platforms.webhooks import PROVIDERS, WebhookError, WebhookSecrets, parse_delivery
from adapters.platforms.webhooks import generic as generic_module
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.answers import SurveyAnswer
from tests.webhook_signing import (
    DELIGHTED_SECRET,
    GENERIC_SECRET,
    SUBMITTED_AT,
    TYPEFORM_SECRET,
    WOOTRIC_SECRET,
    delighted_payload,
    delighted_unsubscribe_payload,
    generic_payload,
    sign_delighted,
    sign_generic,
    sign_typeform,
    sign_wootric,
    typeform_payload,
    wootric_decline_payload,
    wootric_payload,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 20, 9, 31, tzinfo=UTC)
SECRETS = WebhookSecrets(
    generic=GENERIC_SECRET,
    delighted=DELIGHTED_SECRET,
    typeform=TYPEFORM_SECRET,
    wootric=WOOTRIC_SECRET,
)
ALL_SECRET_TEXTS = (
    GENERIC_SECRET,
    GENERIC_SECRET.removeprefix("whsec_"),
    DELIGHTED_SECRET,
    TYPEFORM_SECRET,
    WOOTRIC_SECRET,
)

Headers = dict[str, str]


def sign_generic_now(
    body: bytes, *, secret: str = GENERIC_SECRET, at: dt.datetime = NOW
) -> Headers:
    return sign_generic(secret, body, msg_id="msg_test1", timestamp=int(at.timestamp()))


SIGNERS: dict[str, Callable[[bytes], Headers]] = {
    "generic": sign_generic_now,
    "delighted": lambda body: sign_delighted(DELIGHTED_SECRET, body),
    "typeform": lambda body: sign_typeform(TYPEFORM_SECRET, body),
    "wootric": lambda body: sign_wootric(WOOTRIC_SECRET, body),
}
WRONG_SECRET_SIGNERS: dict[str, Callable[[bytes], Headers]] = {
    "generic": lambda body: sign_generic_now(
        body, secret="whsec_" + base64.b64encode(b"another-secret-of-24-bytes!").decode()
    ),
    "delighted": lambda body: sign_delighted("someone-elses-api-key", body),
    "typeform": lambda body: sign_typeform("someone-elses-secret", body),
    "wootric": lambda body: sign_wootric("someone-elses-token", body),
}
PAYLOADS: dict[str, Callable[..., bytes]] = {
    "generic": generic_payload,
    "delighted": delighted_payload,
    "typeform": typeform_payload,
    "wootric": wootric_payload,
}
SIGNATURE_HEADERS = {
    "generic": "webhook-signature",
    "delighted": "X-Delighted-Webhook-Signature",
    "typeform": "Typeform-Signature",
    "wootric": "X-Wootric-Signature",
}
SCORE_PATHS = {
    "generic": "score",
    "delighted": "event_data.score",
    "typeform": "form_response.answers[0].number",
    "wootric": "response.score",
}


def deliver(
    provider: str,
    body: bytes,
    headers: Headers | None = None,
    *,
    secrets: WebhookSecrets = SECRETS,
    now: dt.datetime = NOW,
) -> list[SurveyAnswer]:
    signed = SIGNERS[provider](body) if headers is None else headers
    return parse_delivery(provider, signed, body, secrets, now)


def refused(
    provider: str,
    body: bytes,
    headers: Headers | None = None,
    *,
    secrets: WebhookSecrets = SECRETS,
    now: dt.datetime = NOW,
) -> WebhookError:
    with pytest.raises(WebhookError) as caught:
        deliver(provider, body, headers, secrets=secrets, now=now)
    for secret in ALL_SECRET_TEXTS:
        assert secret not in caught.value.message
        assert secret not in str(caught.value)
    return caught.value


def expected(provider: str, response_id: str, **overrides: object) -> SurveyAnswer:
    fields: dict[str, object] = {
        "provider": provider,
        "response_id": response_id,
        "kind": SurveyKind.NPS,
        "score": 9,
        "submitted_at": SUBMITTED_AT,
        "comment": None,
        "respondent_email": "jane@acme.example",
        "respondent_name": "Jane Doe",
        "account_external_id": "ACME",
    }
    fields.update(overrides)
    return SurveyAnswer(**fields)  # type: ignore[arg-type]


# --- Valid deliveries ------------------------------------------------------------------


def test_generic_delivery_parses() -> None:
    body = generic_payload(response_id="r-1", kind="nps", score=3, comment="Too slow")
    assert deliver("generic", body) == [expected("generic", "r-1", score=3, comment="Too slow")]


def test_generic_optional_fields_may_be_absent_or_null() -> None:
    body = json.dumps(
        {
            "response_id": "r-2",
            "survey": "CES",
            "score": 7,
            "comment": None,
            "submitted_at": "2026-11-20T10:30:00+01:00",
        }
    ).encode()
    assert deliver("generic", body) == [
        expected(
            "generic",
            "r-2",
            kind=SurveyKind.CES,
            score=7,
            respondent_email=None,
            respondent_name=None,
            account_external_id=None,
        )
    ]


def test_delighted_delivery_parses() -> None:
    body = delighted_payload(response_id="5435", kind="csat", score=2, comment="Slow")
    assert deliver("delighted", body) == [
        expected("delighted", "5435", kind=SurveyKind.CSAT, score=2, comment="Slow")
    ]


def test_delighted_created_and_updated_share_the_response_id() -> None:
    created = delighted_payload(event_type="survey_response.created", comment=None)
    updated = delighted_payload(event_type="survey_response.updated", comment="Now a comment")
    (first,) = deliver("delighted", created)
    (second,) = deliver("delighted", updated)
    assert first.response_id == second.response_id == "5435"
    assert (first.comment, second.comment) == (None, "Now a comment")


def test_delighted_accepts_a_bare_hex_signature() -> None:
    body = delighted_payload()
    headers = sign_delighted(DELIGHTED_SECRET, body)
    headers["X-Delighted-Webhook-Signature"] = headers["X-Delighted-Webhook-Signature"][7:]
    assert len(deliver("delighted", body, headers)) == 1


def test_typeform_delivery_parses() -> None:
    body = typeform_payload(response_id="tok-1", score=6, comment="OK")
    assert deliver("typeform", body) == [expected("typeform", "tok-1", score=6, comment="OK")]


@pytest.mark.parametrize(("kind", "field_type"), [("csat", "rating"), ("ces", "opinion_scale")])
def test_typeform_hidden_survey_field_marks_csat_and_ces(kind: str, field_type: str) -> None:
    body = typeform_payload(kind=kind, score=4, score_field_type=field_type, comment=None)
    (answer,) = deliver("typeform", body)
    assert (answer.kind, answer.score) == (SurveyKind(kind), 4)


def test_typeform_reads_email_from_an_email_question_when_no_hidden_field() -> None:
    payload = json.loads(typeform_payload(email=None, name=None, account_external_id=None))
    payload["form_response"]["answers"].append(
        {
            "type": "email",
            "email": "bob@acme.example",
            "field": {"id": "SMEUb7VJ", "type": "email", "ref": "email"},
        }
    )
    (answer,) = deliver("typeform", json.dumps(payload).encode())
    assert (answer.respondent_email, answer.respondent_name) == ("bob@acme.example", None)


def test_wootric_delivery_parses() -> None:
    body = wootric_payload(response_id=1128, kind="CES", score=2, comment="Hard to set up")
    assert deliver("wootric", body) == [
        expected("wootric", "1128", kind=SurveyKind.CES, score=2, comment="Hard to set up")
    ]


def test_wootric_older_delivery_with_quoted_numbers_and_no_survey_mode() -> None:
    # The shape of a real 2018 delivery: numbers as strings, "YYYY-MM-DD HH:MM:SS -0700".
    body = json.dumps(
        {
            "timestamp": "2018-03-28 15:12:06 -0700",
            "response": {
                "id": "15181514",
                "score": "10",
                "text": None,
                "email": "ray@example.com",
                "end_user_properties": None,
                "created_at": "2018-03-28 15:11:55 -0700",
            },
            "event_name": "created",
        }
    ).encode()
    assert deliver("wootric", body) == [
        SurveyAnswer(
            provider="wootric",
            response_id="15181514",
            kind=SurveyKind.NPS,
            score=10,
            submitted_at=dt.datetime(2018, 3, 28, 22, 11, 55, tzinfo=UTC),
            respondent_email="ray@example.com",
        )
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_header_names_are_case_insensitive(provider: str) -> None:
    body = PAYLOADS[provider]()
    headers = SIGNERS[provider](body)
    shouting = {name.upper(): value for name, value in headers.items()}
    assert len(deliver(provider, body, shouting)) == 1
    assert len(parse_delivery(provider, CIMultiDict(headers), body, SECRETS, NOW)) == 1


# --- Signatures ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tampered_body_is_401(provider: str) -> None:
    body = PAYLOADS[provider](score=9)
    headers = SIGNERS[provider](body)
    tampered = PAYLOADS[provider](score=10)
    assert refused(provider, tampered, headers).status == 401


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_secret_is_401(provider: str) -> None:
    body = PAYLOADS[provider]()
    error = refused(provider, body, WRONG_SECRET_SIGNERS[provider](body))
    assert error.status == 401
    assert SIGNATURE_HEADERS[provider].lower() in error.message.lower()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_signature_is_401(provider: str) -> None:
    body = PAYLOADS[provider]()
    headers = {
        name: value
        for name, value in SIGNERS[provider](body).items()
        if name.lower() != SIGNATURE_HEADERS[provider].lower()
    }
    error = refused(provider, body, headers)
    assert error.status == 401
    assert error.message == f"{SIGNATURE_HEADERS[provider]}: header is missing"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_signature_is_checked_before_the_body_is_parsed(provider: str) -> None:
    body = b"{not json at all"
    assert refused(provider, body, WRONG_SECRET_SIGNERS[provider](body)).status == 401
    assert refused(provider, body, {}).status == 401


def test_typeform_hex_digest_is_not_its_scheme() -> None:
    body = typeform_payload()
    # Delighted's format (hex) under Typeform's secret and header: the right HMAC, the
    # wrong encoding, so it is refused.
    hex_signed = sign_delighted(TYPEFORM_SECRET, body)["X-Delighted-Webhook-Signature"]
    assert refused("typeform", body, {"Typeform-Signature": hex_signed}).status == 401


def test_wootric_signature_needs_its_sha1_prefix() -> None:
    body = wootric_payload()
    bare = sign_wootric(WOOTRIC_SECRET, body)["X-Wootric-Signature"].removeprefix("sha1=")
    error = refused("wootric", body, {"X-Wootric-Signature": bare})
    assert (error.status, error.message) == (
        401,
        "X-Wootric-Signature: expected 'sha1=<hex digest>'",
    )


def test_non_ascii_signature_is_a_clean_401() -> None:
    body = delighted_payload()
    headers = {"X-Delighted-Webhook-Signature": "sha256=é" * 10}
    assert refused("delighted", body, headers).status == 401


# --- Standard Webhooks specifics ---------------------------------------------------------


def test_standard_webhooks_published_vector() -> None:
    # The test vector of the Standard Webhooks reference libraries
    # (github.com/standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
    # `test_sign_function`): this secret, id, timestamp and payload sign to this value.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    timestamp = 1614265330
    payload = b'{"test": 2432232314}'
    signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    at = dt.datetime.fromtimestamp(timestamp, tz=UTC)
    key = generic_module.decode_secret(secret)

    assert (
        sign_generic(secret, payload, msg_id=msg_id, timestamp=timestamp)["webhook-signature"]
        == signature
    )
    generic_module.verify({**headers, "webhook-signature": signature}, payload, key, at)
    # The vector with its last signature character changed, as the reference tests do.
    with pytest.raises(WebhookError) as caught:
        generic_module.verify(
            {**headers, "webhook-signature": signature[:-2] + "A="}, payload, key, at
        )
    assert caught.value.status == 401

    # Through the front door the signature passes, and the body (no survey fields) is a 400.
    error = refused("generic", payload, {**headers, "webhook-signature": signature}, now=at)
    assert (error.status, error.message) == (400, "body: field 'survey': is missing")


def test_generic_secret_without_prefix_is_accepted() -> None:
    body = generic_payload()
    secrets = WebhookSecrets(generic=GENERIC_SECRET.removeprefix("whsec_"))
    assert len(deliver("generic", body, secrets=secrets)) == 1


@pytest.mark.parametrize(
    ("offset", "word"), [(dt.timedelta(seconds=-301), "old"), (dt.timedelta(seconds=301), "future")]
)
def test_generic_timestamp_beyond_five_minutes_is_401(offset: dt.timedelta, word: str) -> None:
    body = generic_payload()
    error = refused("generic", body, sign_generic_now(body, at=NOW + offset))
    assert error.status == 401
    assert error.message.startswith("webhook-timestamp: ")
    assert word in error.message


@pytest.mark.parametrize("seconds", [-300, 300])
def test_generic_timestamp_at_five_minutes_is_accepted(seconds: int) -> None:
    body = generic_payload()
    headers = sign_generic_now(body, at=NOW + dt.timedelta(seconds=seconds))
    assert len(deliver("generic", body, headers)) == 1


@pytest.mark.parametrize("timestamp", ["soon", "-5", "1.7e9", "１７６３"])
def test_generic_timestamp_that_is_not_unix_seconds_is_401(timestamp: str) -> None:
    body = generic_payload()
    headers = {**sign_generic_now(body), "webhook-timestamp": timestamp}
    assert refused("generic", body, headers).message == (
        "webhook-timestamp: not a unix time in seconds"
    )


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_generic_missing_header_is_401(header: str) -> None:
    body = generic_payload()
    headers = {name: value for name, value in sign_generic_now(body).items() if name != header}
    error = refused("generic", body, headers)
    assert (error.status, error.message) == (401, f"{header}: header is missing")


def test_generic_signed_id_cannot_be_swapped() -> None:
    body = generic_payload()
    headers = {**sign_generic_now(body), "webhook-id": "msg_other"}
    assert refused("generic", body, headers).status == 401


def test_generic_one_valid_signature_among_several_is_enough() -> None:
    body = generic_payload()
    valid = sign_generic_now(body)["webhook-signature"]
    rotated = [
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        valid,
        "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
    ]
    headers = {**sign_generic_now(body), "webhook-signature": " ".join(rotated)}
    assert len(deliver("generic", body, headers)) == 1


def test_generic_v1a_entries_are_ignored_even_with_the_right_digest() -> None:
    body = generic_payload()
    digest = sign_generic_now(body)["webhook-signature"].removeprefix("v1,")
    headers = {**sign_generic_now(body), "webhook-signature": f"v1a,{digest} v1,bm9wZQ=="}
    error = refused("generic", body, headers)
    assert (error.status, error.message) == (401, "webhook-signature: no valid v1 signature")


def test_malformed_generic_secret_fails_at_configuration_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="whsec_") as caught:
        WebhookSecrets(generic="whsec_not*base64!")
    assert "not*base64" not in str(caught.value)


# --- Malformed payloads ------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_json_is_400(provider: str) -> None:
    error = refused(provider, b'{"score": 9,')
    assert error.status == 400
    assert error.message.startswith("body: not valid JSON (")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_json_array_is_400(provider: str) -> None:
    error = refused(provider, b"[1, 2]")
    assert (error.status, error.message) == (400, "body: expected a JSON object, got an array")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_score_out_of_range_is_400_naming_the_field(provider: str) -> None:
    error = refused(provider, PAYLOADS[provider](score=11))
    assert error.status == 400
    assert error.message == f"body: field '{SCORE_PATHS[provider]}': 11 is outside 0..10 for nps"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("score", [True, 9.5, "nine", None])
def test_score_of_the_wrong_type_is_400(provider: str, score: object) -> None:
    error = refused(provider, PAYLOADS[provider](score=score))
    assert error.status == 400
    assert f"field '{SCORE_PATHS[provider]}'" in error.message


def test_csat_score_is_held_to_its_own_scale() -> None:
    error = refused("generic", generic_payload(kind="csat", score=6))
    assert error.message == "body: field 'score': 6 is outside 1..5 for csat"


def test_generic_unknown_survey_kind_is_400() -> None:
    error = refused("generic", generic_payload(kind="pmf"))
    assert (
        error.message
        == "body: field 'survey': unknown survey kind \"pmf\" (expected nps, csat, ces)"
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("response_id", None, "is missing"),
        ("response_id", "  ", "is missing"),
        ("submitted_at", "2026-11-20T09:30:00", '"2026-11-20T09:30:00" has no time zone offset'),
        ("submitted_at", "yesterday", '"yesterday" is not an ISO 8601 date-time'),
        ("respondent", "jane", "expected an object, got a string"),
        ("comment", 5, "expected a string, got a number"),
    ],
)
def test_generic_bad_fields_are_400_naming_them(field: str, value: object, problem: str) -> None:
    payload = json.loads(generic_payload())
    payload[field] = value
    error = refused("generic", json.dumps(payload).encode())
    assert (error.status, error.message) == (400, f"body: field '{field}': {problem}")


def test_delighted_unknown_survey_type_is_400() -> None:
    error = refused("delighted", delighted_payload(kind="likert"))
    assert error.status == 400
    assert error.message.startswith("body: field 'event_data.survey_type': ")


def test_typeform_without_a_score_answer_is_400() -> None:
    payload = json.loads(typeform_payload())
    payload["form_response"]["answers"] = payload["form_response"]["answers"][1:]
    error = refused("typeform", json.dumps(payload).encode())
    assert error.message == (
        "body: field 'form_response.answers': no answer to an nps, opinion_scale or rating question"
    )


def test_typeform_unknown_hidden_survey_is_400() -> None:
    error = refused("typeform", typeform_payload(kind="stars"))
    assert error.message.startswith(
        "body: field 'form_response.hidden.survey': unknown survey kind"
    )


def test_wootric_url_encoded_payload_is_400_pointing_at_the_setting() -> None:
    body = b"response[id]=1128&response[score]=7&event_name=created"
    error = refused("wootric", body)
    assert error.status == 400
    assert "JSON payload format" in error.message


# --- Events that are not answers -----------------------------------------------------------


def test_delighted_unsubscribe_yields_nothing() -> None:
    assert deliver("delighted", delighted_unsubscribe_payload()) == []


@pytest.mark.parametrize("survey_type", ["enps", "pmf", "smileys", "thumbs"])
def test_delighted_survey_types_without_a_mapping_yield_nothing(survey_type: str) -> None:
    assert deliver("delighted", delighted_payload(kind=survey_type, score=42)) == []


def test_typeform_partial_response_yields_nothing() -> None:
    assert deliver("typeform", typeform_payload(event_type="form_response_partial")) == []


def test_wootric_decline_yields_nothing() -> None:
    assert deliver("wootric", wootric_decline_payload()) == []


# --- Providers and configuration ---------------------------------------------------------


def test_unknown_provider_is_404() -> None:
    error = refused("surveymonkey", generic_payload(), {})
    assert (error.status, error.message) == (404, "unknown survey webhook provider 'surveymonkey'")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("secret", [None, "", "   "])
def test_unconfigured_provider_is_404(provider: str, secret: str | None) -> None:
    body = PAYLOADS[provider]()
    secrets = WebhookSecrets(**{provider: secret})
    error = refused(provider, body, SIGNERS[provider](body), secrets=secrets)
    assert error.status == 404
    assert "not configured" in error.message


def test_secrets_repr_names_providers_not_secrets() -> None:
    assert (
        repr(SECRETS)
        == "WebhookSecrets(configured=['delighted', 'typeform', 'wootric', 'generic'])"
    )
    assert repr(WebhookSecrets(typeform="x")) == "WebhookSecrets(configured=['typeform'])"


def test_naive_now_is_a_programming_error() -> None:
    body = generic_payload()
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_delivery("generic", sign_generic_now(body), body, SECRETS, NOW.replace(tzinfo=None))


def test_webhook_error_carries_status_and_message() -> None:
    error = WebhookError(401, "webhook-signature: no valid v1 signature")
    assert (error.status, error.message, str(error)) == (
        401,
        "webhook-signature: no valid v1 signature",
        "webhook-signature: no valid v1 signature",
    )
