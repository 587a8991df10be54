"""Incremental indicators against reference computations (pandas where it defines them)."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.strategies.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    Bollinger,
    Highest,
    Lowest,
    crossover,
)

prices = st.lists(
    st.one_of(
        st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False),
        st.sampled_from([0.1, 0.3, 1.7, 100.01]),  # repeats: pandas' flat-window special case
    ),
    min_size=1,
    max_size=200,
)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=300, deadline=None)
@given(values=prices, n=st.integers(min_value=1, max_value=40))
def test_sma_equals_pandas_rolling_mean_bit_for_bit(values: list[float], n: int) -> None:
    expected = pd.Series(values).rolling(n).mean().tolist()
    sma = SMA(n)
    got = [sma.update(v) for v in values]
    assert all(_same(a, b) for a, b in zip(expected, got, strict=True))


def test_sma_of_a_flat_window_is_exactly_the_value() -> None:
    sma = SMA(3)
    for _ in range(5):
        sma.update(0.1)
    assert sma.value == 0.1


def test_sma_is_nan_until_its_window_fills() -> None:
    sma = SMA(3)
    assert math.isnan(sma.update(1.0)) and math.isnan(sma.update(2.0))
    assert sma.update(3.0) == 2.0
    assert sma.previous != sma.previous  # NaN before


def test_ema_is_seeded_with_the_sma_then_smooths_with_two_over_n_plus_one() -> None:
    values = [10.0, 11.0, 12.0, 13.0, 12.0, 11.0]
    ema = EMA(3)
    got = [ema.update(v) for v in values]
    assert math.isnan(got[1])
    assert got[2] == pytest.approx(11.0)
    alpha = 0.5
    expected = 11.0
    for value, result in zip(values[3:], got[3:], strict=True):
        expected += alpha * (value - expected)
        assert result == pytest.approx(expected)


def test_ema_matches_pandas_ewm_after_the_seed() -> None:
    values = [float(x % 17 + x / 10) for x in range(60)]
    n = 5
    seeded = [sum(values[:n]) / n, *values[n:]]
    expected = pd.Series(seeded).ewm(span=n, adjust=False).mean().tolist()
    ema = EMA(n)
    got = [ema.update(v) for v in values][n - 1 :]
    assert got == pytest.approx(expected)


def _wilder_rsi(values: list[float], n: int) -> list[float]:
    changes = [b - a for a, b in itertools.pairwise(values)]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    out = [math.nan] * len(values)
    if len(changes) < n:
        return out
    avg_gain, avg_loss = sum(gains[:n]) / n, sum(losses[:n]) / n
    for k in range(n, len(changes) + 1):
        if k > n:
            avg_gain = (avg_gain * (n - 1) + gains[k - 1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[k - 1]) / n
        out[k] = 100 - 100 / (1 + avg_gain / avg_loss) if avg_loss else 100.0
    return out


def test_rsi_follows_wilders_smoothing() -> None:
    values = [44.0, 44.3, 44.1, 43.6, 44.3, 44.8, 45.1, 45.4, 45.8, 46.1, 45.9, 46.3, 45.8]
    values += [46.2, 45.6, 46.3, 46.2, 45.6, 46.2, 46.3]
    rsi = RSI(14)
    got = [rsi.update(v) for v in values]
    expected = _wilder_rsi(values, 14)
    assert all(math.isnan(g) for g in got[:14])
    assert got[14:] == pytest.approx(expected[14:])
    assert 0 < got[-1] < 100


def test_rsi_is_100_when_prices_only_rise() -> None:
    rsi = RSI(3)
    for v in (1.0, 2.0, 3.0, 4.0, 5.0):
        rsi.update(v)
    assert rsi.value == 100.0


def test_atr_uses_true_range_and_wilder_smoothing() -> None:
    bars = [(10.0, 8.0, 9.0), (11.0, 9.5, 10.5), (12.0, 10.0, 11.0), (11.5, 7.0, 8.0)]
    atr = ATR(2)
    got = [atr.update_bar(h, lo, c) for h, lo, c in bars]
    # true ranges: 2, max(1.5, 2, 0.5)=2, max(2, 1.5, 0.5)=2, max(4.5, 0.5, 4)=4.5
    assert math.isnan(got[0])
    assert got[1] == 2.0
    assert got[2] == 2.0
    assert got[3] == pytest.approx((2.0 * 1 + 4.5) / 2)


def test_bollinger_bands_are_sma_plus_minus_k_population_std() -> None:
    values = [float(v) for v in (3, 5, 4, 8, 9, 7, 6, 10, 12, 11)]
    n, k = 4, 2.0
    bands = Bollinger(n, k)
    series = pd.Series(values)
    mid = series.rolling(n).mean().tolist()
    std = series.rolling(n).std(ddof=0).tolist()
    for i, value in enumerate(values):
        bands.update(value)
        if i >= n - 1:
            assert bands.value == pytest.approx(mid[i])
            assert bands.upper == pytest.approx(mid[i] + k * std[i])
            assert bands.lower == pytest.approx(mid[i] - k * std[i])


def test_highest_and_lowest_track_the_channel() -> None:
    high, low = Highest(2), Lowest(2)
    for h, lo in ((5.0, 1.0), (7.0, 2.0), (6.0, 3.0)):
        high.update_bar(h, lo, 0.0)
        low.update_bar(h, lo, 0.0)
    assert (high.value, high.previous, low.value, low.previous) == (7.0, 7.0, 2.0, 1.0)


def test_crossover_is_strict_and_needs_a_previous_value() -> None:
    fast, slow = SMA(1), SMA(1)
    fast.update(1.0)
    slow.update(2.0)
    assert not crossover(fast, slow)  # no previous value yet
    fast.update(3.0)
    slow.update(2.0)
    assert crossover(fast, slow)
    assert not crossover(slow, fast)
    fast.update(2.0)
    slow.update(2.0)
    assert not crossover(slow, fast)  # touching is not crossing
    assert crossover(fast, 1.5) is False  # a constant: previous = current


@settings(max_examples=200, deadline=None)
@given(values=prices, n=st.integers(min_value=1, max_value=40))
def test_sma_series_equals_its_incremental_updates(values: list[float], n: int) -> None:
    sma = SMA(n)
    expected = [sma.update(v) for v in values]
    got = SMA(n).series(values)
    assert all(_same(a, b) for a, b in zip(expected, got, strict=True))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, -0.0, -1.5, 2.5]),
        ),
        min_size=1,
        max_size=200,
    ),
    n=st.integers(min_value=1, max_value=40),
)
def test_sma_series_of_any_sign_equals_its_incremental_updates(values: list[float], n: int) -> None:
    sma = SMA(n)
    expected = [sma.update(v) for v in values]
    got = SMA(n).series(values)
    assert all(_same(a, b) and math.copysign(1, a) == math.copysign(1, b)
               for a, b in zip(expected, got, strict=True))  # fmt: skip
