"""The bulk CSV reader (block by block, column-wise) against the row-by-row reader: the
same bars from the same text, whatever the block size, line endings or column order."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.backtest import data as bar_data
from redfire_core.backtest.data import BarData, load_csv, read_rows

prices = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False, allow_infinity=False)
rows = st.lists(
    st.tuples(prices, prices, prices, prices, st.integers(0, 5) | st.floats(0, 1e9)),
    min_size=1,
    max_size=60,
)


def columns(bars: BarData) -> tuple[list[object], ...]:
    return (bars.times, bars.open, bars.high, bars.low, bars.close, bars.volume)


def text_of(values: list[tuple[float, float, float, float, float]], order: list[str],
            newline: str, trailing: str) -> str:  # fmt: skip
    start = datetime(2025, 1, 6, tzinfo=UTC)
    lines = ["," + ",".join(order)]
    for i, (o, h, lo, c, v) in enumerate(values):
        fields = {"Open": o, "High": h, "Low": lo, "Close": c, "Volume": v}
        stamp = (start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(",".join([stamp, *(repr(fields[name]) for name in order)]))
    return newline.join(lines) + trailing


@settings(max_examples=150, deadline=None)
@given(
    values=rows,
    order=st.permutations(["Open", "High", "Low", "Close", "Volume"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    trailing=st.sampled_from(["", "\n", "\n\n"]),
    block=st.sampled_from([1, 40, 1 << 20]),
)
def test_bulk_reader_reads_what_the_row_reader_reads(
    values: list[tuple[float, float, float, float, float]],
    order: list[str],
    newline: str,
    trailing: str,
    block: int,
) -> None:
    text = text_of(values, order, newline, trailing)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bar_data, "_BLOCK", block)
        bulk = bar_data._read_plain(text)
    assert bulk is not None
    expected = read_rows(csv.reader(text.replace("\r", "").strip("\n").splitlines()))
    assert columns(bulk) == columns(expected)


def test_a_column_of_few_distinct_values_reads_as_each_value(tmp_path: Path) -> None:
    values = [(1.5, 2.5, 1.0, 2.0, float(i % 7)) for i in range(10_000)]
    path = tmp_path / "bars.csv"
    path.write_text(text_of(values, ["Open", "High", "Low", "Close", "Volume"], "\n", "\n"))
    bars = load_csv(path)
    assert bars.volume == [float(i % 7) for i in range(10_000)]
    assert bars.close == [2.0] * 10_000


def test_a_price_that_is_not_positive_is_named_by_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = [(1.5, 2.5, 1.0, 2.0, 3.0)] * 50
    text = text_of(values, ["Open", "High", "Low", "Close", "Volume"], "\n", "\n")
    path = tmp_path / "bars.csv"
    path.write_text(text.replace(",2.0,3.0\n", ",-2.0,3.0\n", 40).replace(",-2.0,", ",2.0,", 39))
    monkeypatch.setattr(bar_data, "_BLOCK", 64)
    with pytest.raises(bar_data.DataError, match="line 41"):
        load_csv(path)
