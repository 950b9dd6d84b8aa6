"""Service logs: one JSON object per line, the request id on each, no secret ever."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from adapters.observability.logs import REDACTED, service_handler
from adapters.settings import Settings
from metrics_core.correlation import request_id

BOT_TOKEN = "xoxb-1111-2222-abcdefghijkl"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
DB_PASSWORD = "s3cret-db-pass"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    settings = Settings(  # type: ignore[call-arg]
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        DATABASE_URL=f"postgresql+psycopg://closeloop:{DB_PASSWORD}@db:5432/closeloop",
    )
    stream = io.StringIO()
    handler = service_handler("json", settings.secret_values())
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("closeloop.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_json_with_the_request_id_of_the_work(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    token = request_id.set("req-42")
    try:
        logger.info("alert %s posted", 7)
    finally:
        request_id.reset(token)
    logger.warning("outside any request")
    first, second = entries(stream)
    assert first["message"] == "alert 7 posted" and first["request_id"] == "req-42"
    assert first["level"] == "info" and first["logger"] == "closeloop.test.logs"
    assert second["request_id"] is None


def test_configured_secrets_and_token_shapes_are_redacted(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    logger.info("token %s and signing %s", BOT_TOKEN, SIGNING)
    logger.info("connecting to postgresql://closeloop:%s@db/closeloop", DB_PASSWORD)
    logger.info("Authorization: Bearer abc.def-ghi and xapp-1-A0-123-xyz and whsec_QUJD")
    text = stream.getvalue()
    for secret in (BOT_TOKEN, SIGNING, DB_PASSWORD, "abc.def-ghi", "xapp-1-A0-123-xyz", "QUJD"):
        assert secret not in text
    assert text.count(REDACTED) >= 6


def test_a_traceback_is_redacted_too(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise RuntimeError(f"Slack refused {BOT_TOKEN}")
    except RuntimeError:
        logger.exception("send failed")
    (entry,) = entries(stream)
    assert "RuntimeError" in str(entry["error"])
    assert BOT_TOKEN not in stream.getvalue()
