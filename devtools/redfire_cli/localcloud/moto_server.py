"""An in-process moto server on 127.0.0.1 that serialises DynamoDB requests.

moto's ``TransactWriteItems`` rolls a cancelled transaction back by putting back a copy
of each table it touched, wiping out writes other threads made meanwhile (see
PITFALLS); ``moto_speedups`` replaces the table copies with a savepoint of the
targeted items, which is just as unsafe without isolation. One lock around DynamoDB and
DynamoDB Streams requests makes both safe; SQS and everything else
stay concurrent, since SQS long polls would otherwise block the whole cloud.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

HOST = "127.0.0.1"
SHUTDOWN_POLL_SECONDS = 0.1  # how long stop() may wait for the serving loop to notice
# Streams are locked too: a stream read during a cancelled transaction could see
# records of writes that the rollback then erases.
SERIALISED_TARGET_PREFIXES = ("DynamoDB_", "DynamoDBStreams_")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DynamoDBLockMiddleware:
    """WSGI middleware: one request at a time for DynamoDB targets, any number for the rest."""

    def __init__(self, app: WsgiApp, lock: threading.Lock | None = None) -> None:
        self.app = app
        self.lock = lock or threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(SERIALISED_TARGET_PREFIXES):
            return self.app(environ, start_response)
        with self.lock:
            # Consume the body inside the lock: the backend work may be lazy.
            response = self.app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()


class _QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without a log line per request (the pollers make many)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LocalMoto:
    """moto's server app behind the DynamoDB lock, served by werkzeug in a thread."""

    def __init__(self, port: int = 0, host: str = HOST) -> None:
        from redfire_cli.localcloud import moto_speedups

        moto_speedups.install()  # rollback by savepoint: safe behind the lock below
        self.lock = threading.Lock()
        app = DynamoDBLockMiddleware(DomainDispatcherApplication(create_backend_app), self.lock)
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(SHUTDOWN_POLL_SECONDS,),
            name="moto-server",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> LocalMoto:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def forget_shard_iterators(self, iterator_arns: Iterable[str]) -> None:
        """Drop used stream iterators: moto keeps every one it ever issued (~1 kB each)."""
        for backend in _backends("dynamodbstreams"):
            for arn in iterator_arns:
                backend.shard_iterators.pop(arn, None)

    def trim_stream(self, stream_arn: str, through_sequence: str) -> int:
        """Forget stream records up to ``through_sequence``; how many were dropped.

        moto keeps stream records forever and every transaction deep-copies them with
        the table (2,000 records: 4 ms -> 80 ms per transaction). Records the consumer
        has checkpointed are not needed again, so they go; numbering is unchanged.
        """
        table_name = stream_arn.split(":", 5)[5].split("/")[1]
        with self.lock:  # the shard must not change under a request
            for backend in _backends("dynamodb"):
                table = backend.tables.get(table_name)
                shard = table.stream_shard if table is not None else None
                if shard is None:
                    continue
                count = int(through_sequence) - shard.starting_sequence_number + 1
                count = max(0, min(count, len(shard.items)))
                del shard.items[:count]
                shard.starting_sequence_number += count
                return int(count)
        return 0


def _backends(service: str) -> Iterator[Any]:
    """moto's in-process backends of ``service`` for every account and region in use."""
    from moto.backends import get_backend

    for account_backends in list(get_backend(service).values()):  # type: ignore[call-overload]
        yield from list(account_backends.values())
