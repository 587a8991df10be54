"""The terminal of ``redfire dev``: one readable line per event, the full logs in files.

The functions (threads and worker processes alike) write Powertools JSON lines and EMF
metric records to file descriptor 1. ``DevConsole`` puts a pipe there: every line goes
to ``.redfire/logs/functions.jsonl`` as written, and the terminal gets one ``rich`` line
per record that names an event, an account, an order or a status (time, function, event
type, account, order id, status, ms), errors and DLQ moves highlighted. Metric records
and housekeeping stay in the file; ``--verbose`` prints every raw line instead.

The fields are read generically (what the order path logs changes; the names do not).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.text import Text

LOGS_FOLDER = "logs"
FUNCTIONS_LOG = "functions.jsonl"
LOCAL_LOG = "localcloud.jsonl"
FUNCTION_PREFIX = "redfire-local-"
# Field names tried in order for each column (Powertools keys, then our own extras).
EVENT_FIELDS = ("event_type", "detail_type", "detail-type", "type")
ACCOUNT_FIELDS = ("account_id", "account")
ORDER_FIELDS = ("order_id",)
STATUS_FIELDS = ("status", "state")
MS_FIELDS = ("duration_ms", "elapsed_ms", "latency_ms", "ms")
DLQ_MARKERS = ("dlq", "dead-letter", "dead letter")


@dataclass(frozen=True)
class Line:
    """One record as the terminal shows it."""

    time: str
    function: str
    message: str
    event_type: str = ""
    account: str = ""
    order_id: str = ""
    status: str = ""
    ms: str = ""
    level: str = "INFO"
    dlq: bool = False

    @property
    def severity(self) -> str:
        if self.dlq or self.level in ("ERROR", "CRITICAL"):
            return "error"
        return "warning" if self.level == "WARNING" else "info"

    def render(self) -> Text:
        style = {"error": "bold white on red", "warning": "bold yellow", "info": ""}[self.severity]
        text = Text()
        text.append(f"{self.time:<12} ", style="dim")
        text.append(f"{self.function:<16.16} ", style="cyan")
        text.append(f"{self.event_type:<20.20} ", style="magenta")
        text.append(f"{self.account:<14.14} ", style="green")
        text.append(f"{self.order_id:<26.26} ", style="blue")
        text.append(f"{self.status:<12.12} ", style="bold")
        text.append(f"{self.ms:>7} ", style="dim")
        text.append(self.message, style=style)
        return text


def _first(record: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def describe(record: dict[str, Any]) -> Line | None:
    """The terminal line of one log record, or None when it is noise for a human
    (metric records, and INFO records naming no event, account, order or status)."""
    if "_aws" in record or not isinstance(record.get("message", record.get("msg")), str):
        return None
    level = str(record.get("level") or record.get("levelname") or "INFO").upper()
    message = str(record.get("message", record.get("msg")))
    line = Line(
        time=_clock(str(record.get("timestamp", ""))),
        function=str(record.get("function_name") or record.get("service") or "").removeprefix(
            FUNCTION_PREFIX
        ),
        message=message,
        event_type=_first(record, EVENT_FIELDS),
        account=_first(record, ACCOUNT_FIELDS),
        order_id=_first(record, ORDER_FIELDS),
        status=_first(record, STATUS_FIELDS),
        ms=_ms(_first(record, MS_FIELDS)),
        level=level,
        dlq=any(marker in message.lower() for marker in DLQ_MARKERS),
    )
    interesting = line.event_type or line.account or line.order_id or line.status
    if line.severity == "info" and not interesting:
        return None
    if line.event_type == "MarketDataUpdated" and line.severity == "info":
        return None  # every symbol every few seconds: the flood the console exists to stop
    return line


def _clock(timestamp: str) -> str:
    """``2026-12-05 18:45:26,557+0000`` (Powertools) -> ``18:45:26.557``."""
    if len(timestamp) >= 23 and timestamp[10] in " T":
        return timestamp[11:23].replace(",", ".")
    return timestamp[:12]


def _ms(value: str) -> str:
    try:
        return f"{float(value):.0f}ms" if value else ""
    except ValueError:
        return value


class DevConsole:
    """Owns fd 1 while the cloud runs; prints to the terminal the process started with."""

    def __init__(self, workdir: Path, verbose: bool = False) -> None:
        self.folder = workdir / ".redfire" / LOGS_FOLDER
        self.verbose = verbose
        self._saved_fd = -1
        self._reader: threading.Thread | None = None
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        self.out: IO[str] = sys.stdout
        self.terminal = Console(file=self.out, highlight=False)

    def start(self) -> DevConsole:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in (FUNCTIONS_LOG, LOCAL_LOG):
            self._files[name] = (self.folder / name).open("a", buffering=1)
        sys.stdout.flush()
        self._saved_fd = os.dup(1)
        self.out = os.fdopen(os.dup(self._saved_fd), "w", buffering=1)
        self.terminal = Console(file=self.out, highlight=False)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 1)  # functions' stdout, in this process and in worker processes
        os.close(write_fd)
        self._reader = threading.Thread(
            target=self._read, args=(read_fd,), name="dev-console", daemon=True
        )
        self._reader.start()
        return self

    def stop(self) -> None:
        if self._saved_fd < 0:
            return
        sys.stdout.flush()
        os.dup2(self._saved_fd, 1)  # the pipe's last writer closes: the reader sees EOF
        os.close(self._saved_fd)
        self._saved_fd = -1
        if self._reader is not None:
            self._reader.join(timeout=5)
        for file in self._files.values():
            file.close()
        self.out.flush()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "r", errors="replace") as pipe:
            for raw in pipe:
                self.function_line(raw.rstrip("\n"))

    def function_line(self, raw: str) -> None:
        """One line a function wrote: to the log file, and to the terminal as it reads."""
        if not raw.strip():
            return
        with self._lock:
            if FUNCTIONS_LOG in self._files:
                self._files[FUNCTIONS_LOG].write(raw + "\n")
        if self.verbose:
            self.raw(raw)
            return
        try:
            record = json.loads(raw)
        except ValueError:
            self.terminal.print(Text(raw))  # a stray print: shown as it is
            return
        if isinstance(record, dict) and (line := describe(record)) is not None:
            self.terminal.print(line.render(), soft_wrap=True)

    def raw(self, text: str) -> None:
        """A line as it is (no markup, no wrapping): what scripts parse."""
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def local_record(self, record: logging.LogRecord) -> None:
        """A line of the local cloud itself (pollers, gateway): to its file and the terminal."""
        document = {
            "level": record.levelname,
            "timestamp": logging.Formatter().formatTime(record, "%Y-%m-%d %H:%M:%S")
            + f",{int(record.msecs):03d}",
            "service": "localcloud",
            "message": record.getMessage(),
        }
        with self._lock:
            if LOCAL_LOG in self._files:
                self._files[LOCAL_LOG].write(json.dumps(document) + "\n")
        line = describe(document)
        if self.verbose or line is None:
            if self.verbose or record.levelno >= logging.INFO:
                self.terminal.print(Text(f"{document['timestamp']} {record.levelname} "
                                         f"{record.name}: {document['message']}"))  # fmt: skip
            return
        self.terminal.print(line.render(), soft_wrap=True)

    def banner(self, urls: list[tuple[str, str]]) -> None:
        self.terminal.print(Text("RedFire local cloud ready", style="bold green"))
        for name, value in urls:
            self.terminal.print(Text.assemble(f"  {name:<13}", (value, "bold")))


class DevConsoleHandler(logging.Handler):
    """Sends the local cloud's own log records through the dev console."""

    def __init__(self, console: DevConsole) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.local_record(record)
        except Exception:  # logging must never raise into the caller
            self.handleError(record)
