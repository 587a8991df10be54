"""The ``wait`` preference of RFC 7240 (``Prefer: wait=N``).

``N`` is delta-seconds as RFC 7240 defines it (whole seconds, digits only, optionally
quoted); a larger value than ``MAX_WAIT_SECONDS`` is clamped to it. A preference this
server cannot parse (``wait=1.5``, ``wait=-1``, ``wait=soon``) is ignored, as section 2
of RFC 7240 asks, and the request is answered as if it had not been sent.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_WAIT_SECONDS = 2
_MAX_DIGITS = 10  # anything longer is clamped anyway; don't parse unbounded integers


def requested_wait(prefer_headers: Iterable[str]) -> int | None:
    """The first ``wait`` preference in the ``Prefer`` header(s), clamped; None without one."""
    for header in prefer_headers:
        for preference in header.split(","):
            token, _, value = preference.split(";", 1)[0].partition("=")
            if token.strip().lower() != "wait":
                continue
            seconds = value.strip()
            if len(seconds) >= 2 and seconds[0] == seconds[-1] == '"':
                seconds = seconds[1:-1]
            if not seconds.isascii() or not seconds.isdigit():
                return None  # RFC 7240: a preference that cannot be understood is ignored
            if len(seconds) > _MAX_DIGITS:
                return MAX_WAIT_SECONDS
            return min(int(seconds), MAX_WAIT_SECONDS)
    return None
