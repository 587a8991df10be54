"""The synthetic provider now lives in ``redfire_core.providers.synthetic``."""

from redfire_core.providers.synthetic import BASE_PRICES, last_completed_bars, minute_bar

__all__ = ["BASE_PRICES", "last_completed_bars", "minute_bar"]
