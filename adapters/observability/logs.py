"""Logs an operator's tools can read: one JSON object per line, with the request id, secrets out.

Log collectors (Loki, CloudWatch, Datadog, `jq`) parse JSON lines without a pattern per
message; every record carries the id of the request that caused it (see
`metrics_core.correlation`), so one id finds the webhook, the database work and the alert
it led to. Secrets never reach a log: the values of the configured secrets, and anything
shaped like a Slack token or a bearer credential, are replaced before a line is written,
whichever library logged it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable

from metrics_core.correlation import request_id

REDACTED = "[redacted]"
_SHAPES = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+"  # Slack bot, user and legacy tokens
    r"|xapp-[A-Za-z0-9-]+"  # Slack app-level tokens
    r"|whsec_[A-Za-z0-9+/=]+"  # Standard Webhooks secrets
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"  # Authorization headers
)


class Redactor(logging.Filter):
    """Replaces secrets in a record's message and arguments, then lets it through."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _SHAPES.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.clean(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatted here so the traceback's text can be cleaned too.
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


class WithRequestId(logging.Filter):
    """Stamps each record with the id of the request whose work logged it (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonLines(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id"[, "error"]}`, one per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def service_handler(fmt: str, secrets: Iterable[str]) -> logging.Handler:
    """The service's log handler: JSON lines (`fmt="json"`) or text, redacted, with ids."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(WithRequestId())
    handler.addFilter(Redactor(secrets))
    return handler
