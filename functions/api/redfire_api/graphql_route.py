"""``POST /graphql``: the GraphQL API in the same app, auth and codes as REST.

Strawberry (and graphql-core) are imported on the first GraphQL request, never at the
app's import, so REST cold starts do not pay for them. Queries deeper than
``MAX_DEPTH`` or costlier than ``MAX_COMPLEXITY`` (fields, multiplied by page sizes)
are refused before anything runs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from redfire_api.deps import correlation_id
from redfire_api.problems import Problem
from redfire_api.security import authenticate
from redfire_core.auth import Principal
from redfire_core.observability import logger

router = APIRouter(tags=["graphql"])

MAX_DEPTH = 5
MAX_COMPLEXITY = 20_000
DEFAULT_PAGE = 100
MAX_QUERY_BYTES = 20_000


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


def measure(document: Any, variables: dict[str, Any]) -> tuple[int, int]:
    """(depth, complexity) of a parsed query; introspection fields are not counted."""
    from graphql import (
        FieldNode,
        FragmentDefinitionNode,
        FragmentSpreadNode,
        InlineFragmentNode,
        IntValueNode,
        OperationDefinitionNode,
        VariableNode,
    )

    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def page_size(field: Any) -> int:
        for argument in field.arguments or ():
            if argument.name.value == "first":
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    given = variables.get(value.name.value)
                    return given if isinstance(given, int) else DEFAULT_PAGE
        return 1

    def walk(selection_set: Any, seen: frozenset[str]) -> tuple[int, int]:
        depth = cost = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                below, below_cost = walk(selection.selection_set, seen)
                depth = max(depth, 1 + below)
                cost += 1 + page_size(selection) * below_cost
            elif isinstance(selection, InlineFragmentNode):
                below, below_cost = walk(selection.selection_set, seen)
                depth, cost = max(depth, below), cost + below_cost
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments:
                    continue  # a cycle or an unknown fragment: validation reports it
                below, below_cost = walk(fragments[name].selection_set, seen | {name})
                depth, cost = max(depth, below), cost + below_cost
        return depth, cost

    depth = cost = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            d, c = walk(definition.selection_set, frozenset())
            depth, cost = max(depth, d), cost + c
    return depth, cost


def execute(body: dict[str, Any], principal: Principal, correlation: str) -> dict[str, Any]:
    """Run one GraphQL request; the response document (``data`` and ``errors``)."""
    from graphql import GraphQLError, parse

    from redfire_api.graphql_schema import error_extensions, schema

    query, variables = body["query"], body.get("variables") or {}
    try:
        document = parse(query)
    except GraphQLError as error:
        return {"data": None, "errors": [_error(error.message, "GRAPHQL_PARSE_FAILED")]}
    depth, complexity = measure(document, variables)
    if depth > MAX_DEPTH:
        message = f"the query is {depth} levels deep; at most {MAX_DEPTH} are allowed"
        return {"data": None, "errors": [_error(message, "QUERY_TOO_DEEP")]}
    if complexity > MAX_COMPLEXITY:
        message = f"the query costs {complexity}; at most {MAX_COMPLEXITY} is allowed"
        return {"data": None, "errors": [_error(message, "QUERY_TOO_COMPLEX")]}
    result = schema.execute_sync(
        query,
        variable_values=variables,
        context_value={"principal": principal, "correlation_id": correlation},
        operation_name=body.get("operationName"),
    )
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [_formatted(error, error_extensions) for error in result.errors]
    return response


def _formatted(error: Any, extensions_of: Any) -> dict[str, Any]:
    formatted: dict[str, Any] = error.formatted
    original = error.original_error
    extensions = error.extensions or None
    if original is not None and extensions is None:
        extensions = extensions_of(original)
        if extensions is None:
            logger.exception("graphql resolver failed", exc_info=original)
            formatted["message"] = "the request could not be completed"
            extensions = {"code": "INTERNAL_ERROR", "status": 500}
    if extensions is None:
        extensions = {"code": "GRAPHQL_VALIDATION_FAILED", "status": 422}
    formatted["extensions"] = extensions
    return formatted


# Not in the OpenAPI document: GraphQL describes itself (introspection), and the
# OpenAPI contract covers the versioned REST paths.
@router.post("/graphql", include_in_schema=False)
async def graphql(request: Request) -> JSONResponse:
    principal = authenticate(request)
    raw = await request.body()
    if len(raw) > MAX_QUERY_BYTES:
        raise Problem(413, "PAYLOAD_TOO_LARGE", f"at most {MAX_QUERY_BYTES} bytes")
    try:
        import json

        body = json.loads(raw)
    except ValueError:
        body = None
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("query"), str)
        or not isinstance(body.get("variables") or {}, dict)
    ):
        raise Problem(
            422,
            "REQUEST_INVALID",
            'send {"query": "...", "variables": {...}} as application/json',
        )
    document = await run_in_threadpool(execute, body, principal, correlation_id(request))
    return JSONResponse(document)
