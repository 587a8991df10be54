"""Background threads that repeat one step until asked to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger("redfire.localcloud")

ERROR_BACKOFF_SECONDS = 1.0


class RepeatingWorker:
    """Calls ``step`` in a daemon thread, waiting ``interval`` seconds between calls
    (and ``first_delay`` before the first); ``interval`` may be a function, asked each time.

    A step that raises is logged with its traceback and the thread keeps going: one
    bad batch must not silently stop a poller for the rest of the session.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], object],
        interval: float | Callable[[], float],
        first_delay: float = 0.0,
    ) -> None:
        self.name = name
        self.step = step
        self.interval = interval
        self.first_delay = first_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> RepeatingWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        if self.first_delay and self._stop.wait(self.first_delay):
            return
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:
                logger.exception("%s failed; carrying on", self.name)
                self._stop.wait(max(self._interval(), ERROR_BACKOFF_SECONDS))
                continue
            interval = self._interval()
            if interval:
                self._stop.wait(interval)

    def _interval(self) -> float:
        return self.interval() if callable(self.interval) else self.interval
