"""Handlers are called the way the Lambda runtime calls them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from redfire_cli.localcloud.lambda_runtime import LambdaContext, LocalFunction, import_handler


def test_a_handler_is_imported_by_its_dotted_path() -> None:
    assert import_handler("json.dumps")({"a": 1}) == '{"a": 1}'


def test_the_context_carries_what_powertools_reads() -> None:
    context = LambdaContext("redfire-local-risk", 512, 10)
    assert context.invoked_function_arn.endswith(":function:redfire-local-risk")
    assert context.memory_limit_in_mb == 512 and context.aws_request_id
    assert 9_000 < context.get_remaining_time_in_millis() <= 10_000


def concurrency_of(one_at_a_time: bool) -> int:
    active, peak, guard = [0], [0], threading.Lock()

    def handler(event: Any, context: Any) -> None:
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with guard:
            active[0] -= 1

    function = LocalFunction("f", 128, 3, handler, one_at_a_time=one_at_a_time)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(function.invoke, range(4)))
    return peak[0]


def test_an_event_driven_function_handles_one_event_at_a_time_like_a_container() -> None:
    assert concurrency_of(one_at_a_time=True) == 1


def test_the_api_function_may_serve_requests_concurrently() -> None:
    assert concurrency_of(one_at_a_time=False) > 1
