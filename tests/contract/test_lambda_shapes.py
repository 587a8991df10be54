"""The one set of Lambda event builders (redfire_core.lambda_shapes), used by the local cloud
and the tests, builds the shapes of the real AWS samples in tests/fixtures/events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from redfire_core import lambda_shapes as shapes
from tests.support.events import load_event

# Maps whose keys are data (header names, attribute names, items), not the event's shape.
OPAQUE = {
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "detail",
    "attributes",
    "Keys",
    "NewImage",
    "OldImage",
}
# Keys a builder adds only when the request has them (a query string, a body).
OPTIONAL = {"body", "queryStringParameters", "multiValueQueryStringParameters"}
# What the samples carry that the local cloud has no value for.
UNKNOWN_LOCALLY = {"requestContext.identity.userAgent", "multiValueHeaders"}


def _paths(node: Any, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return set()
    found = set()
    for key, value in node.items():
        found.add(prefix + key)
        if key not in OPAQUE:
            found |= _paths(value, f"{prefix}{key}.")
    return found


def _first_record(event: dict[str, Any]) -> dict[str, Any]:
    return dict(event["Records"][0])


BUILT = {
    "apigw_http_v2": lambda: shapes.http_api_event(
        method="POST",
        target="/v1/orders?limit=1",
        headers=[("host", "api.example.com"), ("content-type", "application/json")],
        body=b"{}",
        source_ip="192.0.2.1",
        now=datetime(2026, 11, 25, tzinfo=UTC),
    ),
    "apigw_ws_connect": lambda: shapes.websocket_connect_event(
        "c1", "/?token=t", [("Host", "ws.example.com")], domain="ws", connected_at=1, source_ip="1"
    ),
    "apigw_ws_message": lambda: shapes.websocket_message_event(
        "c1", "$default", "{}", domain="ws", connected_at=1, source_ip="1"
    ),
    "apigw_ws_disconnect": lambda: shapes.websocket_disconnect_event(
        "c1", 1000, "bye", domain="ws", connected_at=1, source_ip="1"
    ),
    "sqs_eventbridge": lambda: shapes.sqs_event(
        [
            shapes.sqs_record(
                {"MessageId": "m", "ReceiptHandle": "r", "Body": "{}", "Attributes": {}},
                shapes.queue_arn("redfire-test-risk"),
            )
        ]
    ),
    "eventbridge_event": lambda: shapes.eventbridge_event("OrderSubmitted", {}),
    "dynamodb_stream": lambda: {
        "Records": [
            shapes.dynamodb_stream_record(
                {
                    **{k: v for k, v in _first_record(load_event("dynamodb_stream")).items()},
                    "dynamodb": {
                        **load_event("dynamodb_stream")["Records"][0]["dynamodb"],
                        "ApproximateCreationDateTime": datetime(2026, 11, 25, tzinfo=UTC),
                    },
                },
                "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/s",
            )
        ]
    },
}


@pytest.mark.parametrize("sample", sorted(BUILT))
def test_a_built_event_has_the_shape_of_the_aws_sample(sample: str) -> None:
    # Given the AWS sample and the builder's event, then they name the same keys, except
    # optional ones and those the local cloud cannot know
    built, real = _paths(BUILT[sample]()), _paths(load_event(sample))
    assert built - real - OPTIONAL == set()
    assert real - built - UNKNOWN_LOCALLY == set()


def test_a_stream_record_carries_json_types_as_lambda_delivers_them() -> None:
    record = shapes.dynamodb_stream_record(
        {"dynamodb": {"ApproximateCreationDateTime": datetime(2026, 11, 25, tzinfo=UTC)}},
        "arn:s",
    )
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1795564800
    assert (record["eventSource"], record["eventSourceARN"]) == ("aws:dynamodb", "arn:s")


def test_a_binary_http_body_is_base64_and_flagged() -> None:
    event = shapes.http_api_event(
        method="PUT",
        target="/blob",
        headers=[("content-type", "application/octet-stream")],
        body=b"\xff\x00",
        source_ip="1",
    )
    assert (event["body"], event["isBase64Encoded"]) == ("/wA=", True)
