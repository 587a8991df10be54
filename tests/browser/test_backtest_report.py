"""`redfire backtest --plot` writes one HTML file whose interactive chart draws offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from redfire_cli.main import main

pytestmark = pytest.mark.slow

backtesting = pytest.importorskip("backtesting")
GOOG = Path(backtesting.__file__).parent / "test" / "GOOG.csv"


def test_the_plot_draws_its_interactive_chart_with_the_network_off(
    browser: Browser, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    assert main(["backtest", "--strategy", "sma_cross", "--data", str(GOOG),
                 "--plot", str(report), "--json"]) == 0  # fmt: skip
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(report.as_uri())

    expect(page.locator("#backtest-chart .chart-equity canvas").first).to_be_visible()
    expect(page.locator("#backtest-chart .chart-drawdown canvas").first).to_be_visible()
    # Zoom with the wheel: the chart answers (its time scale moves), nothing is fetched.
    page.mouse.move(600, 200)
    page.mouse.wheel(0, -600)
    page.screenshot(path=str(Path(__file__).parent / "artifacts" / "backtest_report.png"))
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []
    context.close()
