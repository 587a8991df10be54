"""Leased rate-limit tokens: few writes per request, and the limit holds across containers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from itertools import cycle
from unittest.mock import patch

import pytest

from redfire_core.adapters.rate_limits import RateLimiter, RateWindowItem

SECOND = 1_800_000_000


@pytest.fixture
def writes(aws: None) -> Iterator[list[str]]:
    """Every conditional ADD the limiters send to the (moto) table, by item id."""
    sent: list[str] = []
    original = RateWindowItem.update

    def counted(item: RateWindowItem, *args: object, **kwargs: object) -> object:
        sent.append(item.id)
        return original(item, *args, **kwargs)  # type: ignore[arg-type]

    with patch.object(RateWindowItem, "update", counted):
        yield sent


def test_a_busy_caller_costs_one_write_per_lease(writes: list[str]) -> None:
    # Given one container allowing 1,000 requests a second, leasing 20 tokens at a time
    limiter = RateLimiter(1000, lease=20)

    # When a caller makes 400 requests in one second
    answers = [limiter.allow("key_a", SECOND) for _ in range(400)]

    # Then all pass, at 0.05 writes per request
    assert all(answers)
    assert len(writes) == 20 and limiter.writes == 20


@pytest.mark.parametrize(("limit", "lease", "containers"), [(50, 20, 3), (25, 10, 4), (3, 20, 2)])
def test_several_containers_sharing_a_caller_pass_at_most_the_limit_plus_their_leases(
    writes: list[str], limit: int, lease: int, containers: int
) -> None:
    # Given several containers (limiter instances) sharing the one table
    limiters = [RateLimiter(limit, lease=lease) for _ in range(containers)]

    # When the caller's requests reach them in turn, far more than the limit in one second
    turns = cycle(limiters)
    passed = sum(next(turns).allow("key_a", SECOND) for _ in range(limit * 4))

    # Then no more than L + N x lease pass (here exactly L: a lease keeps only what is left)
    assert limit <= passed <= limit + containers * lease
    assert passed == limit
    # And the next second starts afresh
    assert limiters[0].allow("key_a", SECOND + 1)


def test_a_full_window_refuses_until_the_next_one(writes: list[str]) -> None:
    limiter = RateLimiter(5, lease=2)
    assert [limiter.allow("key_a", SECOND) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.allow("key_b", SECOND)  # another caller has its own window
    assert limiter.allow("key_a", SECOND + 1)


def test_a_container_s_threads_together_get_exactly_the_limit(writes: list[str]) -> None:
    # Given one container (50 a second, leases of 20) and 100 threads of one caller,
    # released together, each lease slowed as a loaded DynamoDB call would be
    limiter = RateLimiter(50, lease=20)
    take_lease = limiter._take_lease
    released = threading.Barrier(100)
    answers: list[bool] = []

    def slow(caller: str, start: int) -> int:
        time.sleep(0.02)
        return take_lease(caller, start)

    def request() -> None:
        released.wait()
        answers.append(limiter.allow("key_a", SECOND))

    # When they all ask in the same second
    with patch.object(limiter, "_take_lease", slow):
        threads = [threading.Thread(target=request) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Then exactly the limit passes, on three leases (20 + 20 + 10) and one refused ADD:
    # the refused requests after it cost no write
    assert sum(answers) == 50
    assert len(writes) == 4
