"""Which request caused this work: one id, carried from the HTTP request into what it starts.

A survey answer arrives as a webhook and is alerted on later by the dispatcher; a slash
command's answer is prepared on the database thread. The id lives in a context variable,
so asyncio tasks inherit it, `Database` carries it onto its threads, and the outbox stores
it with a message so the delivery logs the id of the request that owed it.
"""

from __future__ import annotations

import contextvars

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "closeloop_request_id", default=None
)
