"""The API Gateway WebSocket management API behind a small port.

``ConnectionPoster`` is what the stream services need: post bytes to a connection,
close one. ``ApiGatewayManagement`` calls the real API (boto3
``apigatewaymanagementapi``); the local cloud serves the same HTTP API, so the same
adapter runs there. Tests use a recording fake.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol


class ConnectionGone(Exception):
    """The connection is closed (the management API's ``GoneException``, HTTP 410)."""


class ConnectionPoster(Protocol):
    def post(self, connection_id: str, data: bytes) -> None:
        """Send one message; raises ``ConnectionGone`` when the connection is closed."""

    def close(self, connection_id: str) -> None:
        """Close the connection (no error if it is already gone)."""


class ApiGatewayManagement:
    """``post_to_connection`` / ``delete_connection`` at ``endpoint_url``
    (``https://<api id>.execute-api.<region>.amazonaws.com/<stage>`` on AWS)."""

    def __init__(self, endpoint_url: str, client: Any = None) -> None:
        self.endpoint_url = endpoint_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: keeps the import off the cold start
            from botocore.config import Config  # lazy: with boto3

            self._client = boto3.client(
                "apigatewaymanagementapi",
                endpoint_url=self.endpoint_url,
                config=Config(retries={"max_attempts": 3, "mode": "standard"}),
            )
        return self._client

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self.client.exceptions.GoneException:
            raise ConnectionGone(connection_id) from None

    def close(self, connection_id: str) -> None:
        with contextlib.suppress(self.client.exceptions.GoneException):
            self.client.delete_connection(ConnectionId=connection_id)
