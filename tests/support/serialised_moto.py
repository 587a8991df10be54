"""Serialise every AWS call made in-process, as the local cloud serialises DynamoDB.

moto's TransactWriteItems is not safe under concurrency (PITFALLS.md): without this,
a concurrency test would test moto's races, not our conditions and versions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from botocore.client import BaseClient

_original = getattr(BaseClient, "_make_api_call")  # noqa: B009 (private in the stubs)


@contextmanager
def serialised_aws_calls() -> Iterator[None]:
    lock = threading.Lock()

    def locked(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        with lock:
            return _original(self, operation, params)

    with patch.object(BaseClient, "_make_api_call", locked):
        yield
