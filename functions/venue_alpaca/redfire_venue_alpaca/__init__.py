"""The Alpaca venue function: RedFire's venue port on Alpaca's Trading API (alpaca-py).

Its own package and layer, so alpaca-py (with pandas and numpy) never reaches the paper
path: ``redfire_core`` knows only the port (``redfire_core.venues``).
"""
