"""Identifiers a client chooses (client order ids, names, symbols): printable ASCII only.

Control characters, bidi overrides and look-alike letters from other scripts would let two
ids that print the same differ (or hide text in logs and consoles), so they are refused.
"""

from __future__ import annotations

CLIENT_ORDER_ID_MAX = 128


def printable_ascii_pattern(max_length: int, min_length: int = 1) -> str:
    """A regular expression for 1..``max_length`` printable ASCII characters (space to ~)."""
    return rf"^[\x20-\x7e]{{{min_length},{max_length}}}$"


def is_printable_ascii(text: str, max_length: int) -> bool:
    return 1 <= len(text) <= max_length and text.isascii() and text.isprintable()
