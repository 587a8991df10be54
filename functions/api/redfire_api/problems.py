"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from redfire_core.alpaca_dialect import alpaca_error
from redfire_core.domain.errors import DomainError
from redfire_core.domain.quotas import QuotaExceeded
from redfire_core.observability import logger

PROBLEM_TYPE_BASE = "https://redfire.dev/problems/"
ALPACA_PREFIXES = ("/v2/", "/v1beta3/")
MEDIA_TYPE = "application/problem+json"

# Domain codes that are not bad input but a conflict with the current state.
CONFLICT_CODES = frozenset(
    {
        "ORDER_ID_CONFLICT",
        "GATEWAY_BUSY",
        "ORDER_IN_PROGRESS",
        "ORDER_NOT_CANCELABLE",
        "ORDER_NOT_REPLACEABLE",
        "ORDER_INVALID_TRANSITION",
        "INSTRUMENT_EXISTS",
        "STRATEGY_SYMBOL_TAKEN",
        "IDEMPOTENCY_KEY_REUSED",
        "REQUEST_IN_PROGRESS",
    }
)
# Domain codes that say the thing asked about does not exist (or is another account's).
NOT_FOUND_CODES = frozenset(
    {"ORDER_NOT_FOUND", "INSTRUMENT_NOT_FOUND", "POSITION_NOT_FOUND", "KEY_NOT_FOUND"}
)
STATUS_CODES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def speaks_alpaca(path: str) -> bool:
    """Alpaca's routes (`/v2`, `/v1beta3`) answer errors in Alpaca's dialect."""
    return path.startswith(ALPACA_PREFIXES)


def alpaca_response(problem: Problem) -> JSONResponse:
    """``{"code": <8 digits>, "message": ...}`` with Alpaca's status for the RedFire code."""
    error = alpaca_error(problem.code, problem.status)
    message = problem.errors[0]["message"] if problem.errors else problem.detail
    if problem.errors and problem.errors[0].get("field") not in (None, "body"):
        message = f"{problem.errors[0]['field']}: {message}"
    return JSONResponse(
        {"code": error.code, "message": message},
        status_code=error.status,
        headers=problem.headers,
    )


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    if speaks_alpaca(request.url.path):
        return alpaca_response(problem)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem.code.lower().replace("_", "-"),
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        "instance": request.url.path,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    return JSONResponse(
        body, status_code=problem.status, media_type=MEDIA_TYPE, headers=problem.headers
    )


def _validation_code(request: Request) -> str:
    """ORDER_INVALID for an order body (place, replace); REQUEST_INVALID for anything else."""
    is_order_body = request.method in ("POST", "PATCH") and request.url.path.startswith(
        "/v1/orders"
    )
    return "ORDER_INVALID" if is_order_body else "REQUEST_INVALID"


def invalid(field: str, message: str, code: str = "REQUEST_INVALID") -> Problem:
    """A 422 that names the one input at fault."""
    return Problem(
        422,
        code,
        "the request is not valid",
        errors=[{"field": field, "code": code, "message": message}],
    )


def domain_status(code: str) -> int:
    if code in NOT_FOUND_CODES:
        return 404
    return 409 if code in CONFLICT_CODES else 422


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into problem+json."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, problem: Problem) -> JSONResponse:
        return problem_response(problem, request)

    @app.exception_handler(QuotaExceeded)
    async def on_quota_exceeded(request: Request, error: QuotaExceeded) -> JSONResponse:
        problem = Problem(
            429, error.code, error.message, headers={"Retry-After": str(error.retry_after)}
        )
        return problem_response(problem, request)

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, error: DomainError) -> JSONResponse:
        status = domain_status(error.code)
        errors = (
            None
            if error.field is None or status == 404
            else [{"field": error.field, "code": error.code, "message": error.message}]
        )
        return problem_response(Problem(status, error.code, error.message, errors=errors), request)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        code = _validation_code(request)
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
                "code": code,
                "message": e["msg"],
            }
            for e in error.errors()
        ]
        return problem_response(
            Problem(422, code, "the request is not valid", errors=errors), request
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(error.status_code, "HTTP_ERROR")
        detail = str(error.detail) if error.status_code != 404 else "no such resource"
        return problem_response(
            Problem(error.status_code, code, detail, headers=dict(error.headers or {})), request
        )

    @app.exception_handler(Exception)
    async def on_crash(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(
            Problem(500, "INTERNAL_ERROR", "the request could not be completed"), request
        )
