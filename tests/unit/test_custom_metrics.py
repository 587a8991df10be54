"""Custom metrics carry the stage; an idle sweep's zero is not published (each published
metric name and dimension set is billed as a custom metric)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aws_lambda_powertools.metrics.exceptions import SchemaValidationError

from redfire_core.observability import STAGE_DIMENSION, count, metrics


@pytest.fixture(autouse=True)
def no_pending_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def test_a_count_is_published_with_the_stage_dimension() -> None:
    count("OrdersTimedOut", 2)
    emf = metrics.serialize_metric_set()
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert [m["Name"] for m in directive["Metrics"]] == ["OrdersTimedOut"]
    assert STAGE_DIMENSION in directive["Dimensions"][0]
    assert emf[STAGE_DIMENSION] == "test"
    assert emf["OrdersTimedOut"] == [2.0]


def test_a_zero_from_an_idle_sweep_is_not_published() -> None:
    count("OrdersTimedOut", 0)
    count("OrdersExpired", 0)
    with pytest.raises(SchemaValidationError):  # nothing to publish
        metrics.serialize_metric_set()
