"""Backtests: bar data, the event-driven engine and its statistics (no pandas here)."""
