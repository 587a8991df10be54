"""What the Lambda runtime gives a handler: the handler itself, imported by its dotted
path as Lambda does, and a context object with the attributes Powertools reads."""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redfire_cli.localcloud.environment import ACCOUNT_ID, REGION
from redfire_core.resources import Declaration, Function

Handler = Callable[[Any, Any], Any]


def import_handler(dotted_path: str) -> Handler:
    """``package.module.function`` -> the function, as the Lambda runtime resolves it."""
    module_name, _, attribute = dotted_path.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


@dataclass
class LambdaContext:
    """A Lambda context: names, limits and a deadline, for one invocation."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class LocalFunction:
    """A declared function made callable: its handler with a fresh context per call.

    A Lambda container handles one event at a time and handlers rely on it (a module-level
    Powertools ``BatchProcessor`` keeps per-batch state), so by default calls to one
    function are serialised here too. The API function opts out: the gateway's concurrent
    requests stand for several warm containers.
    """

    physical_name: str
    memory_mb: int
    timeout_seconds: int
    handler: Handler
    one_at_a_time: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def load(
        cls, declaration: Declaration, function: Function, one_at_a_time: bool = True
    ) -> LocalFunction:
        return cls(
            physical_name=declaration.name(function.name),
            memory_mb=function.memory_mb,
            timeout_seconds=function.timeout_seconds,
            handler=import_handler(function.handler),
            one_at_a_time=one_at_a_time,
        )

    def new_context(self) -> LambdaContext:
        return LambdaContext(self.physical_name, self.memory_mb, self.timeout_seconds)

    def invoke(self, event: Any) -> Any:
        if not self.one_at_a_time:
            return self.handler(event, self.new_context())
        with self._lock:
            return self.handler(event, self.new_context())


def _invoke_in_worker(dotted_path: str, context: LambdaContext, event: Any) -> Any:
    """Runs in a worker process: the handler is imported once per process (a warm
    container), then called with the event."""
    return import_handler(dotted_path)(event, context)


@dataclass
class ProcessPoolFunction:
    """A declared function whose calls run in worker processes, ``processes`` at a time:
    Lambda's concurrent containers for CPU-bound work (backtests), which threads in one
    interpreter could not run in parallel. Workers inherit this process's environment, so
    they reach the same moto server."""

    physical_name: str
    memory_mb: int
    timeout_seconds: int
    dotted_path: str
    processes: int
    _pool: Any = field(default=None, repr=False)

    @classmethod
    def load(
        cls, declaration: Declaration, function: Function, processes: int
    ) -> ProcessPoolFunction:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        import_handler(function.handler)  # an import error stops startup here, loudly
        pool = ProcessPoolExecutor(processes, mp_context=get_context("spawn"))
        return cls(
            physical_name=declaration.name(function.name),
            memory_mb=function.memory_mb,
            timeout_seconds=function.timeout_seconds,
            dotted_path=function.handler,
            processes=processes,
            _pool=pool,
        )

    def invoke(self, event: Any) -> Any:
        context = LambdaContext(self.physical_name, self.memory_mb, self.timeout_seconds)
        return self._pool.submit(_invoke_in_worker, self.dotted_path, context, event).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
