"""Documents the error answers every operation can give, as problem+json (RFC 9457)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from redfire_api.problems import MEDIA_TYPE, speaks_alpaca

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable, e.g. ORDER_PRICE_TICK"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
PUBLIC_ERRORS = {"404": "Not found", "413": "Body too large", "422": "Invalid input"}
AUTHENTICATED_ERRORS = {
    **PUBLIC_ERRORS,
    "401": "Missing or invalid token",
    "403": "Scope too small",
    "409": "Conflict with the current state",
    "429": "Rate limited (see Retry-After)",
}
PROBLEM = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Alpaca's dialect on its routes (`/v2`, `/v1beta3`): an 8-digit code and a message.
ALPACA_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "integer", "description": "Alpaca's code, e.g. 40310000"},
        "message": {"type": "string"},
    },
}
ALPACA_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/AlpacaError"}}}


def document_problems(app: FastAPI) -> None:
    """Replace FastAPI's JSON validation error with the problem documents we send."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        components["AlpacaError"] = ALPACA_ERROR_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                errors = (
                    PUBLIC_ERRORS
                    if path == "/health" or not operation.get("security", True)
                    else AUTHENTICATED_ERRORS
                )
                responses = operation.setdefault("responses", {})
                content = ALPACA_ERROR if speaks_alpaca(path) else PROBLEM
                for status, description in errors.items():
                    responses[status] = {"description": description, "content": content}
        schemas = schema["components"]["schemas"]
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
