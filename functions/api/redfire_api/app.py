"""The FastAPI application: routes, problem+json errors, correlation ids."""

from __future__ import annotations

from fastapi import FastAPI

from redfire_api import graphql_route, problems
from redfire_api.body_limit import BodyLimitMiddleware
from redfire_api.deps import CorrelationIdMiddleware
from redfire_api.idempotency import IdempotencyMiddleware, document
from redfire_api.openapi_docs import document_problems
from redfire_api.routes import (
    account,
    alpaca,
    alpaca_data,
    audit,
    auth,
    backtests,
    gateway,
    health,
    instruments,
    keys,
    marketdata,
    orders,
    positions,
    risk,
    strategies,
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
    # graphql_route is light: it imports Strawberry on the first GraphQL request, not here.
    for router in (
        *(m.router for m in (health, auth, orders, trades, positions, account, instruments)),
        *(m.router for m in (keys, audit, marketdata, risk, strategies, gateway)),
        strategies.catalog_router,
        *(m.router for m in (backtests, graphql_route, alpaca, alpaca_data)),
    ):
        app.include_router(router)
    # Inside the correlation-id middleware below, so replayed answers carry the id too.
    app.add_middleware(IdempotencyMiddleware)
    # Outermost of these two: an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimitMiddleware)
    # Outermost: every answer, a refused body's included, carries the correlation id.
    app.add_middleware(CorrelationIdMiddleware)
    document(app)
    document_problems(app)
    return app
