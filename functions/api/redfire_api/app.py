"""The FastAPI application: routes, problem+json errors, correlation ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from redfire_api import problems
from redfire_api.body_limit import BodyLimitMiddleware
from redfire_api.idempotency import IdempotencyMiddleware, document
from redfire_api.openapi_docs import document_problems
from redfire_api.routes import (
    account,
    audit,
    auth,
    health,
    instruments,
    keys,
    orders,
    positions,
    trades,
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="RedFire API",
        version="1.0.0",
        description="Serverless backend for quantitative trading.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    problems.install(app)
    for module in (health, auth, orders, trades, positions, account, instruments, keys, audit):
        app.include_router(module.router)
    from redfire_api.routes import marketdata

    app.include_router(marketdata.router)
    from redfire_api.routes import risk

    app.include_router(risk.router)
    from redfire_api.routes import strategies

    app.include_router(strategies.router)
    from redfire_api.routes import backtests

    app.include_router(backtests.router)
    from redfire_api.routes import alpaca, alpaca_data

    app.include_router(alpaca.router)
    app.include_router(alpaca_data.router)
    # Light: the route imports Strawberry on the first GraphQL request, not here.
    from redfire_api import graphql_route

    app.include_router(graphql_route.router)
    # Inside the correlation-id middleware below, so replayed answers carry the id too.
    app.add_middleware(IdempotencyMiddleware)
    # Outermost of these two: an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimitMiddleware)
    document(app)
    document_problems(app)

    @app.middleware("http")
    async def echo_correlation_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        from redfire_api.deps import correlation_id

        response = await call_next(request)
        response.headers["X-Correlation-Id"] = correlation_id(request)
        return response

    return app
