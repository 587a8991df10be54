"""A strategy that raises is reported, not lost: the backtest names the bar, the CLI
prints one line (the traceback with ``--debug``), and a parameter the strategy's
indicators refuse is a clean error before anything runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from redfire_cli.main import main
from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import run_backtest
from redfire_core.domain.errors import DomainError
from redfire_core.strategies import StrategyFailed, resolve_strategy
from tests.support.strategies import CRASH_AT, Crashing, registered_strategy

START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    with registered_strategy(Crashing):
        yield


def _data(n: int = 60) -> BarData:
    closes = [100.0 + (i % 9) - (i % 4) for i in range(n)]
    return BarData(
        [START + timedelta(days=i) for i in range(n)],
        closes,
        [c + 1 for c in closes],
        [c - 1 for c in closes],
        closes,
        [1000.0] * n,
    )


def _csv(tmp_path: Path) -> Path:
    data = _data()
    rows = ["timestamp,open,high,low,close,volume"]
    for i, moment in enumerate(data.times):
        rows.append(
            f"{moment.isoformat()},{data.open[i]},{data.high[i]},{data.low[i]},"
            f"{data.close[i]},{data.volume[i]}"
        )
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_an_exception_in_on_bar_ends_the_backtest_naming_the_bar() -> None:
    data = _data()
    with pytest.raises(StrategyFailed) as failed:
        run_backtest(Crashing, data, {})
    assert failed.value.as_json() == {
        "code": "STRATEGY_ERROR",
        "message": "ZeroDivisionError in on_bar: division by zero",
        "bar_time": data.times[CRASH_AT].isoformat().replace("+00:00", "Z"),
    }
    assert isinstance(failed.value.__cause__, ZeroDivisionError)


def test_the_cli_prints_one_line_with_the_bar_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backtest", "--strategy", "test_crashing", "--data", str(_csv(tmp_path))])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        "redfire backtest: error: STRATEGY_ERROR at bar 2025-01-31T00:00:00Z: "
        "ZeroDivisionError in on_bar: division by zero"
    ]


def test_the_cli_prints_the_strategys_traceback_with_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--strategy", "test_crashing", "--data", str(_csv(tmp_path)), "--debug"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" in err and "print(1 / 0)" in err
    assert err.strip().splitlines()[-1].startswith("redfire backtest: error: STRATEGY_ERROR")


def test_a_parameter_the_indicators_refuse_is_one_clean_cli_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--strategy", "test_crashing", "--data", str(_csv(tmp_path))]
    code = main([*args, "--param", "trend=0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "redfire backtest: error: an indicator period must be at least 1"
    ]


def test_a_parameter_the_indicators_refuse_is_refused_when_resolved() -> None:
    with pytest.raises(DomainError) as refused:
        resolve_strategy("test_crashing", {"trend": 0})
    assert (refused.value.code, refused.value.field) == ("STRATEGY_INVALID_PARAMETER", "params")
