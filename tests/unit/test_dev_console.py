"""`redfire dev`'s terminal: one readable line per event from Powertools JSON, noise kept in
the log files only, errors and DLQ moves highlighted, raw JSON with --verbose."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from redfire_cli.localcloud.dev_console import FUNCTIONS_LOG, DevConsole, describe

FILLED = {
    "level": "INFO",
    "location": "fill:224",
    "message": "order filled",
    "timestamp": "2026-12-05 18:45:35,743+0000",
    "service": "redfire-local",
    "function_name": "redfire-local-orders",
    "correlation_id": "01M93",
    "type": "OrderFilled",
    "account_id": "demo",
    "order_id": "01M93RD7SDCV4PYE83HVT526C3",
    "status": "filled",
    "duration_ms": 12.4,
}
METRICS = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "BarsIngested": [8.0]}
HOUSEKEEPING = {
    "level": "INFO",
    "message": "stale connections closed",
    "TOKEN_EXPIRED": 0,
    "timestamp": "2026-12-05 18:45:28,431+0000",
    "service": "redfire-local",
}


def test_an_order_record_becomes_one_line_with_every_column() -> None:
    line = describe(FILLED)

    assert line is not None
    assert (line.time, line.function, line.event_type) == ("18:45:35.743", "orders", "OrderFilled")
    assert (line.account, line.order_id, line.status, line.ms) == (
        "demo", "01M93RD7SDCV4PYE83HVT526C3", "filled", "12ms")  # fmt: skip
    assert line.severity == "info"
    plain = line.render().plain
    for part in ("18:45:35.743", "orders", "OrderFilled", "demo", "filled", "12ms", "order filled"):
        assert part in plain


def test_metrics_housekeeping_and_market_data_stay_off_the_terminal() -> None:
    market = {**HOUSEKEEPING, "message": "event streamed", "type": "MarketDataUpdated"}

    assert describe(METRICS) is None
    assert describe(HOUSEKEEPING) is None
    assert describe(market) is None


def test_errors_and_dlq_moves_are_highlighted_even_without_an_order() -> None:
    error = describe({**HOUSEKEEPING, "level": "ERROR", "message": "publishing failed"})
    dlq = describe({**HOUSEKEEPING, "level": "WARNING", "message": "message moved to the DLQ"})

    assert error is not None and error.severity == "error"
    assert dlq is not None and dlq.severity == "error"
    assert "on red" in str(error.render().spans[-1].style)


def feed(tmp_path: Path, verbose: bool, lines: list[dict[str, Any]]) -> tuple[str, list[str]]:
    console = DevConsole(tmp_path, verbose=verbose)
    screen = io.StringIO()
    console.out = screen
    console.terminal = Console(file=screen, width=200, highlight=False)
    console.folder.mkdir(parents=True)
    console._files[FUNCTIONS_LOG] = (console.folder / FUNCTIONS_LOG).open("a", buffering=1)
    for record in lines:
        console.function_line(json.dumps(record))
    console._files[FUNCTIONS_LOG].close()
    return screen.getvalue(), (console.folder / FUNCTIONS_LOG).read_text().splitlines()


def test_the_terminal_shows_one_line_per_event_and_the_file_keeps_every_record(
    tmp_path: Path,
) -> None:
    screen, kept = feed(tmp_path, False, [METRICS, HOUSEKEEPING, FILLED])

    assert screen.count("\n") == 1 and "OrderFilled" in screen
    assert "{" not in screen  # no raw JSON on the terminal
    assert [json.loads(line) for line in kept] == [METRICS, HOUSEKEEPING, FILLED]


def test_verbose_prints_the_raw_json(tmp_path: Path) -> None:
    screen, _ = feed(tmp_path, True, [METRICS, FILLED])

    assert [json.loads(line) for line in screen.splitlines()] == [METRICS, FILLED]
