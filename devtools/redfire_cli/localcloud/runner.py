"""``redfire dev``: start moto, provision, seed, start the pollers and the gateway; stop cleanly.

Order matters: the environment is set before any ``redfire_core`` settings are read,
the handlers are imported (cold start paid) before ready, and on stop the gateway and
pollers end before the tables are saved and moto goes away.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redfire_cli.localcloud import dev_env, environment, state
from redfire_cli.localcloud.console_site import PREFIX as CONSOLE_PREFIX
from redfire_cli.localcloud.console_site import ConsoleSite, default_root
from redfire_cli.localcloud.workers import RepeatingWorker

logger = logging.getLogger("redfire.localcloud")

DEFAULT_MOTO_PORT = 4566
DEFAULT_API_PORT = 8000
DEFAULT_WS_PORT = 8001
WS_FUNCTION = "ws"  # the function behind the WebSocket gateway
# Functions whose calls may overlap (several warm containers); the others take one at a time.
CONCURRENT_FUNCTIONS = frozenset({"api", WS_FUNCTION})
READY_PREFIX = "RedFire local cloud ready:"
JOIN_TIMEOUT_SECONDS = 10.0
HTTP_API_FUNCTION = "api"  # the function behind the HTTP gateway


class StartupError(Exception):
    """The local cloud cannot start (a port is taken, saved state unreadable, ...)."""


@dataclass(frozen=True)
class DevOptions:
    workdir: Path
    reset: bool = False
    moto_port: int = DEFAULT_MOTO_PORT
    api_port: int = DEFAULT_API_PORT
    feed_seconds: float = 5.0
    ws_port: int = DEFAULT_WS_PORT

    @classmethod
    def from_environment(cls, workdir: Path, reset: bool) -> DevOptions:
        """Ports from REDFIRE_MOTO_PORT / REDFIRE_API_PORT (0 = any free port)."""
        return cls(
            workdir=workdir,
            reset=reset,
            moto_port=int(os.environ.get("REDFIRE_MOTO_PORT", DEFAULT_MOTO_PORT)),
            api_port=int(os.environ.get("REDFIRE_API_PORT", DEFAULT_API_PORT)),
            feed_seconds=float(os.environ.get("REDFIRE_FEED_SECONDS", 5.0)),
            ws_port=int(os.environ.get("REDFIRE_WS_PORT", DEFAULT_WS_PORT)),
        )


class LocalCloud:
    """Everything ``redfire dev`` runs, with one start and one stop."""

    def __init__(self, options: DevOptions) -> None:
        self.options = options
        self.state_path = dev_env.state_path(options.workdir)
        self.dev_env_path = dev_env.dev_env_path(options.workdir)
        self.moto: Any = None
        self.gateway: Any = None
        self.ws_gateway: Any = None
        self.workers: list[RepeatingWorker] = []
        self.jwt_secret = ""
        self.started = False

    def start(self) -> None:
        if self.options.reset:
            self.state_path.unlink(missing_ok=True)
        try:
            saved = state.load(self.state_path)
        except (ValueError, KeyError) as error:
            raise StartupError(f"cannot read {self.state_path}: {error}; use --reset") from None
        self._start_moto()
        environment.apply(environment.handler_environment(self.moto.endpoint_url))
        self._bind_gateway()
        self._bind_ws_gateway()

        from redfire_cli.localcloud import aws
        from redfire_cli.localcloud.provision import Provisioner
        from redfire_cli.localcloud.ttl_sweeper import (
            SWEEP_INTERVAL_SECONDS,
            TtlSweeper,
            ttl_tables,
        )
        from redfire_core.resources import Declaration

        self.declaration = Declaration(environment.LOCAL_STAGE)
        self.jwt_secret = saved.jwt_secret or secrets.token_hex(32)
        self.resources = Provisioner(self.declaration).provision(self.jwt_secret)
        self.dynamodb = aws.client("dynamodb")
        self._restore(saved)
        self.sweeper = TtlSweeper(ttl_tables(self.declaration), self.dynamodb)
        self.sweeper.sweep()  # restored items may have expired while the cloud was down
        self._seed()
        self._load_functions()
        self._start_pollers()
        self._start_schedules()
        self.workers.append(
            RepeatingWorker(
                "ttl-sweeper",
                self.sweeper.sweep,
                interval=SWEEP_INTERVAL_SECONDS,
                first_delay=SWEEP_INTERVAL_SECONDS,
            ).start()
        )
        self.gateway.start()
        self.ws_gateway.start()
        self._write_dev_env()
        self.started = True

    @property
    def console_url(self) -> str:
        return f"{self.gateway.url}{CONSOLE_PREFIX}"

    @property
    def ready_line(self) -> str:
        return (
            f"{READY_PREFIX} API {self.gateway.url}, WebSocket {self.ws_gateway.url}, "
            f"docs {self.gateway.url}/docs, console {self.console_url}, "
            f"AWS endpoint {self.moto.endpoint_url}, "
            f"settings and token in {self.dev_env_path}"
        )

    @property
    def ready_urls(self) -> list[tuple[str, str]]:
        """What the ready banner lists, one name and value a line."""
        return [
            ("API", self.gateway.url),
            ("WebSocket", self.ws_gateway.url),
            ("Docs", f"{self.gateway.url}/docs"),
            ("Console", self.console_url),
            ("AWS endpoint", self.moto.endpoint_url),
            ("Token", f"REDFIRE_TOKEN in {self.dev_env_path} (`redfire token` for others)"),
        ]

    def stop(self) -> None:
        """Stop taking work, let the threads end, save the tables (only after a full start)."""
        if self.gateway is not None:
            self.gateway.stop()
        for worker in self.workers:
            worker.stop()
        for worker in self.workers:
            worker.join(JOIN_TIMEOUT_SECONDS)
            if worker.alive:
                logger.warning("%s did not stop in time", worker.name)
        if self.ws_gateway is not None:  # after the pusher's poller: a batch may be posting
            self.ws_gateway.stop()
        for function in getattr(self, "functions", {}).values():
            if hasattr(function, "close"):  # worker processes end with their pollers
                function.close()
        if self.started:
            self._save_state()
            self.dev_env_path.unlink(missing_ok=True)
        if self.moto is not None:
            self.moto.stop()

    # --- steps ------------------------------------------------------------------------

    def _start_moto(self) -> None:
        from redfire_cli.localcloud.moto_server import LocalMoto

        try:
            self.moto = LocalMoto(self.options.moto_port).start()
        except OSError as error:
            raise StartupError(
                f"cannot listen on 127.0.0.1:{self.options.moto_port} for moto ({error}); "
                "set REDFIRE_MOTO_PORT to a free port (0 picks one)"
            ) from None

    def _bind_gateway(self) -> None:
        """Bind the API port early, so a taken port fails before anything else runs."""
        from redfire_cli.localcloud.http_gateway import LocalHttpApiServer

        try:
            self.gateway = LocalHttpApiServer(
                lambda event: self.functions[HTTP_API_FUNCTION].invoke(event), self.options.api_port
            )
        except OSError as error:
            raise StartupError(
                f"cannot listen on 127.0.0.1:{self.options.api_port} for the API ({error}); "
                "set REDFIRE_API_PORT to a free port (0 picks one)"
            ) from None

    def _bind_ws_gateway(self) -> None:
        """Bind the WebSocket port early too; tell the handlers where its management API is."""
        from redfire_cli.localcloud.ws_gateway import LocalWebSocketApi

        try:
            self.ws_gateway = LocalWebSocketApi(
                lambda event: self.functions[WS_FUNCTION].invoke(event), self.options.ws_port
            )
        except OSError as error:
            raise StartupError(
                f"cannot listen on 127.0.0.1:{self.options.ws_port} for the WebSocket API "
                f"({error}); set REDFIRE_WS_PORT to a free port (0 picks one)"
            ) from None
        environment.apply({"REDFIRE_WS_MANAGEMENT_URL": self.ws_gateway.management_url})
        # The console finds the WebSocket in its config.json; the API is its own origin.
        self.gateway.console = ConsoleSite(
            default_root(), {"api_url": "", "ws_url": self.ws_gateway.url}
        )

    def _restore(self, saved: state.SavedState) -> None:
        from botocore.exceptions import ClientError

        try:
            restored = state.restore(self.declaration, self.dynamodb, saved)
        except ClientError as error:  # e.g. the declaration changed a table's keys
            raise StartupError(
                f"cannot restore {self.state_path}: {error}; start with --reset to discard it"
            ) from None
        if restored:
            logger.info("restored %d items from %s", restored, self.state_path)

    def _seed(self) -> None:
        from redfire_core.adapters.audit_log import AuditLog
        from redfire_core.adapters.trading_store import TradingStore
        from redfire_core.services.accounts import seed_demo

        self.demo_account = seed_demo(TradingStore(), AuditLog(), datetime.now(UTC))

    def _load_functions(self) -> None:
        """Import every declared handler now: an import error stops startup loudly. The
        consumers of queues with a maximum concurrency run in worker processes."""
        from redfire_cli.localcloud.lambda_runtime import LocalFunction, ProcessPoolFunction
        from redfire_core.resources import FUNCTIONS

        self.functions: dict[str, Any] = {}
        for name, function in FUNCTIONS.items():
            processes = self._worker_processes(name)
            self.functions[name] = (
                ProcessPoolFunction.load(self.declaration, function, processes)
                if processes
                else LocalFunction.load(
                    self.declaration, function, one_at_a_time=name not in CONCURRENT_FUNCTIONS
                )
            )

    @staticmethod
    def _worker_processes(function_name: str) -> int:
        """Worker processes for a function whose queue asks for ``local_workers``: the queue's
        maximum concurrency, at most one per core (0: the function runs in this process)."""
        from redfire_core.resources import QUEUES

        limits = [
            q.max_concurrency
            for q in QUEUES.values()
            if q.consumer == function_name and q.local_workers
        ]
        if not limits:
            return 0
        return max(1, min(limits[0], os.cpu_count() or 1))

    def _start_pollers(self) -> None:
        from redfire_cli.localcloud import aws
        from redfire_cli.localcloud.sqs_pollers import SqsPoller
        from redfire_cli.localcloud.stream_poller import StreamPoller
        from redfire_core.resources import QUEUES, STREAM_CONSUMERS, STREAM_FILTERS

        for table_logical, function_name in STREAM_CONSUMERS.items():
            function = self.functions[function_name]
            stream_poller = StreamPoller(
                name=function.physical_name,
                stream_arn=self.resources.streams[table_logical],
                invoke=function.invoke,
                streams_client=aws.client("dynamodbstreams"),
                on_failure=_sender(
                    aws.client("sqs"), self.resources.stream_failures[table_logical].url
                ),
                housekeeping=self.moto,
                filter_pattern=STREAM_FILTERS.get(table_logical),
            )
            self.workers.append(
                RepeatingWorker(
                    f"stream-{table_logical}",
                    stream_poller.poll_once,
                    interval=stream_poller.poll_interval,
                ).start()
            )
        for queue in QUEUES.values():
            # One poller per concurrent invocation, as Lambda scales its pollers.
            for n in range(self._worker_processes(queue.consumer) or 1):
                sqs_poller = SqsPoller(
                    name=self.declaration.name(queue.logical),
                    queue=self.resources.queues[queue.logical],
                    batch_size=queue.batch_size,
                    invoke=self.functions[queue.consumer].invoke,
                    sqs_client=aws.client("sqs"),
                    max_receive_count=queue.max_receive_count,
                )
                worker_name = f"sqs-{queue.logical}" + (f"-{n}" if n else "")
                self.workers.append(
                    RepeatingWorker(worker_name, sqs_poller.poll_once, interval=0).start()
                )

    def _start_schedules(self) -> None:
        from redfire_cli.localcloud.scheduler import (
            LocalSchedule,
            local_period,
            run_once,
            start_workers,
        )

        schedules = [
            LocalSchedule(
                name=s.logical,
                period_seconds=local_period(s, self.options.feed_seconds),
                payload=s.payload,
                invoke=self.functions[s.function].invoke,
            )
            for s in self.declaration.schedules()
        ]
        run_once(schedules)
        self.workers.extend(start_workers(schedules))

    def _write_dev_env(self) -> None:
        from redfire_cli.localcloud.minting import mint_token
        from redfire_core.domain.roles import Role

        token = mint_token(
            self.jwt_secret,
            account_id=self.demo_account,
            role=Role.TRADER.value,
            actor="redfire dev",
            now=datetime.now(UTC),
        )
        dev_env.write(
            self.dev_env_path,
            {
                "REDFIRE_API_URL": self.gateway.url,
                "REDFIRE_WS_URL": self.ws_gateway.url,
                # alpaca-py's TradingStream(url_override=...): the same API, Alpaca's dialect
                "REDFIRE_ALPACA_STREAM_URL": f"{self.ws_gateway.url}?dialect=alpaca",
                "REDFIRE_WS_MANAGEMENT_URL": self.ws_gateway.management_url,
                "REDFIRE_CONSOLE_URL": self.console_url,
                "REDFIRE_TOKEN": token,
                "REDFIRE_STAGE": environment.LOCAL_STAGE,
                **environment.aws_environment(self.moto.endpoint_url),
            },
        )

    def _save_state(self) -> None:
        captured = state.capture(self.declaration, self.dynamodb, self.jwt_secret)
        state.save(self.state_path, captured)
        count = sum(len(items) for items in captured.tables.values())
        logger.info("saved %d items to %s", count, self.state_path)


def _sender(sqs: Any, queue_url: str) -> Callable[[dict[str, Any]], None]:
    """Sends a JSON document to a queue (the stream poller's on-failure destination)."""

    def send(document: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(document))

    return send
