"""Strategy functions: the backtest and sweep worker, and the live strategy runner."""
