"""Work that outlives the request that started it, kept so that a shutdown can finish it.

Chat platforms want an acknowledgement at once and the answer later: slack-bolt runs each
Slack listener as a task of its own after the ack (the answer goes to the response_url),
and a Teams answer that misses its turn is sent later, proactively. Nothing awaits those
tasks, so a process that stops (a deploy, a scale-down) would drop answers mid-way, and
an unreferenced task may even be collected before it is done. Each one is kept here
instead, and `drain` gives them until a deadline to finish before the service closes its
connections and its database; what is still running then is cancelled, so it is either
sent whole or not at all.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# How long cancelled work gets to unwind (close a connection, log) before the drain returns.
_UNWIND_SECONDS = 1.0


class InFlight:
    """The tasks answering requests that were already acknowledged."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def adopt(self, task: asyncio.Task[Any] | None = None) -> None:
        """Keep `task` (the running one by default) until it is done."""
        task = task or asyncio.current_task()
        if task is None or task.done():
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `work` as a task of its own, kept until it is done."""
        task = asyncio.create_task(work)
        self.adopt(task)
        return task

    def tracked(self, listener: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        """`listener`, adopting the task that runs it.

        The wrapper keeps the listener's signature (`functools.wraps`), which is what
        slack-bolt reads to decide which arguments to pass.
        """

        @functools.wraps(listener)
        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            self.adopt()
            return await listener(*args, **kwargs)

        return run

    async def drain(self, within: float) -> int:
        """Wait up to `within` seconds for the work, including work it starts meanwhile;
        cancel what is still running then. Returns how many tasks were cancelled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(within, 0.0)
        current = asyncio.current_task()
        while pending := {task for task in self._tasks if task is not current}:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(pending, timeout=remaining)
        left = [task for task in self._tasks if task is not current and not task.done()]
        for task in left:
            task.cancel()
        if left:
            log.warning(
                "%d answer%s still being prepared when the shutdown deadline passed %s not sent",
                len(left),
                "" if len(left) == 1 else "s",
                "was" if len(left) == 1 else "were",
            )
            await asyncio.wait(left, timeout=_UNWIND_SECONDS)
        return len(left)
