"""API function entry point: API Gateway HTTP API (payload 2.0) -> Mangum -> FastAPI."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from redfire_api.app import create_app
from redfire_core.lambda_events import validated_env
from redfire_core.observability import logger, metrics, tracer

app = create_app()
# "+json" keeps application/problem+json bodies as text rather than base64.
_mangum = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "+json"])


@validated_env
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _mangum(event, context)
