"""``POST /graphql``: the GraphQL API in the same app, auth and codes as REST.

Strawberry (and graphql-core) are imported on the first GraphQL request, never at the
app's import, so REST cold starts do not pay for them. Before anything runs, a request
is refused when its data fields nest deeper than ``MAX_DEPTH``, when it costs more than
``MAX_COMPLEXITY`` (fields multiplied by page sizes, read after variables are coerced;
introspection counted value by value), when a page size is not 1 to ``MAX_PAGE``, when it
holds more mutations than the stage allows (exactly one with an ``Idempotency-Key``), or
when it introspects on a stage that turned introspection off. Each mutation counts against
the caller's rate limit.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from redfire_api.deps import correlation_id
from redfire_api.paging import MAX_PAGE
from redfire_api.problems import Problem
from redfire_api.security import authenticate, check_rate
from redfire_core.auth import Principal
from redfire_core.config import get_settings
from redfire_core.observability import logger

if TYPE_CHECKING:
    from graphql.execution.values import VariableValues

router = APIRouter(tags=["graphql"])

MAX_DEPTH = 5
MAX_COMPLEXITY = 20_000
MAX_QUERY_BYTES = 20_000
IDEMPOTENCY_HEADER = "idempotency-key"


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


class Refusal(Exception):
    """A request refused before anything runs: a GraphQL error with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def depth_of(document: Any) -> int:
    """How deep the operations' data fields nest (fragments followed, cycles cut).

    Introspection fields (``__schema``, ``__type``) are left out here: a standard
    introspection query is a dozen levels deep, and what it costs is counted exactly
    (``_Cost.introspection``) instead."""
    from graphql import (  # lazy: graphql-core off REST cold starts
        FieldNode,
        FragmentDefinitionNode,
        FragmentSpreadNode,
        InlineFragmentNode,
        OperationDefinitionNode,
    )

    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def walk(selection_set: Any, seen: frozenset[str]) -> int:
        depth = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                depth = max(depth, 1 + walk(selection.selection_set, seen))
            elif isinstance(selection, InlineFragmentNode):
                depth = max(depth, walk(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments:
                    continue  # a cycle or an unknown fragment: validation reports it
                depth = max(depth, walk(fragments[name].selection_set, seen | {name}))
        return depth

    return max(
        (
            walk(d.selection_set, frozenset())
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        ),
        default=0,
    )


class _Cost:
    """The cost of one validated operation, its variables already coerced: every field
    counts 1, a page of ``first`` items multiplies what it holds (the field's default when
    ``first`` is not given; ``bars`` by the bars its range can hold), and introspection
    counts each value it would return."""

    def __init__(
        self, schema: Any, document: Any, variables: VariableValues | None, limit: int
    ) -> None:
        from graphql import FragmentDefinitionNode  # lazy: graphql-core off REST cold starts

        self.schema = schema
        self.variables = variables
        self.limit = limit
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def fields(self, selection_set: Any, seen: frozenset[str] = frozenset()) -> list[Any]:
        """The field nodes of a selection set, through fragments (type conditions ignored:
        counting a field that might not apply only overestimates)."""
        from graphql import (  # lazy: graphql-core off REST cold starts
            FieldNode,
            FragmentSpreadNode,
            InlineFragmentNode,
        )

        found: list[Any] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in self.fragments:
                    found.extend(self.fields(self.fragments[name].selection_set, seen | {name}))
        return found

    def of(self, selection_set: Any, parent: Any) -> int:
        from graphql import get_named_type  # lazy: graphql-core off REST cold starts
        from graphql.execution.values import get_argument_values  # lazy: graphql-core

        from redfire_api.graphql_schema import PAGE_BOUNDS  # lazy: Strawberry off REST cold starts

        cost = 0
        for node in self.fields(selection_set):
            name = node.name.value
            cost += 1
            if name == "__typename":
                continue
            if name in ("__schema", "__type"):
                cost += self.introspection(node)
            else:
                definition = parent.fields[name]
                arguments = get_argument_values(definition, node, self.variables)
                bound = PAGE_BOUNDS.get(name) if parent is self.schema.query_type else None
                size = bound(arguments) if bound else page_size(arguments)
                cost += size * self.of(node.selection_set, get_named_type(definition.type))
            if cost > self.limit:
                break  # refused anyway: stop counting
        return cost

    def introspection(self, node: Any) -> int:
        """The number of values ``__schema`` / ``__type`` would return, counted with the
        introspection resolvers themselves and given up past the limit."""

        from graphql import (  # lazy: graphql-core off REST cold starts
            GraphQLList,
            SchemaMetaFieldDef,
            TypeMetaFieldDef,
            get_named_type,
            get_nullable_type,
        )
        from graphql.execution.values import get_argument_values  # lazy: graphql-core

        spent = 0

        def count(selection_set: Any, parent: Any, source: Any) -> None:
            nonlocal spent
            for field in self.fields(selection_set):
                spent += 1
                if spent > self.limit:
                    raise _OverLimit
                name = field.name.value
                if field.selection_set is None or name == "__typename":
                    continue
                definition = parent.fields[name]
                arguments = get_argument_values(definition, field, self.variables)
                info = SimpleNamespace(schema=self.schema, parent_type=parent)
                value = definition.resolve(source, info, **arguments)
                below = get_named_type(definition.type)
                many = isinstance(get_nullable_type(definition.type), GraphQLList)
                for item in (value or ()) if many else (value,):
                    if item is not None:
                        count(field.selection_set, below, item)

        meta = SchemaMetaFieldDef if node.name.value == "__schema" else TypeMetaFieldDef
        arguments = get_argument_values(meta, node, self.variables)
        root = SimpleNamespace(schema=self.schema, parent_type=None)
        source = meta.resolve(None, root, **arguments) if meta.resolve else None
        try:
            if source is not None:
                count(node.selection_set, get_named_type(meta.type), source)
        except _OverLimit:
            pass
        return spent


class _OverLimit(Exception):
    """Counting stopped: the operation costs more than the limit."""


def page_size(arguments: dict[str, Any]) -> int:
    """The multiplier of a field: its ``first`` (1 for a field without one); a size that is
    not a whole number from 1 to ``MAX_PAGE`` is refused before anything runs."""
    first = arguments.get("first")
    if first is None:
        return 1
    if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= MAX_PAGE:
        raise Refusal("REQUEST_INVALID", f"first must be a whole number from 1 to {MAX_PAGE}")
    return int(first)


def mutation_count(document: Any, operation: Any) -> int:
    """How many mutations an operation runs (its root fields, aliases and fragments
    included); 0 for a query."""
    from graphql import OperationType  # lazy: graphql-core off REST cold starts

    if operation.operation != OperationType.MUTATION:
        return 0
    fields = _Cost(None, document, None, 0).fields(operation.selection_set)
    return sum(1 for field in fields if field.name.value != "__typename")


def checked(body: dict[str, Any], document: Any, principal: Principal, idempotent: bool) -> None:
    """Refusal (or a 429 Problem) unless the operation passes every limit, checked before
    anything runs; sizes are read from the variables coerced as execution coerces them."""
    from graphql import get_operation_ast, validate  # lazy: graphql-core off REST cold starts
    from graphql.execution.values import get_variable_values  # lazy: graphql-core

    from redfire_api.graphql_schema import schema  # lazy: Strawberry off REST cold starts

    settings = get_settings()
    depth = depth_of(document)
    if depth > MAX_DEPTH:
        message = f"the query is {depth} levels deep; at most {MAX_DEPTH} are allowed"
        raise Refusal("QUERY_TOO_DEEP", message)
    graphql_schema = schema._schema
    errors = validate(graphql_schema, document)
    if errors:
        raise Refusal("GRAPHQL_VALIDATION_FAILED", errors[0].message)
    operation = get_operation_ast(document, body.get("operationName"))
    if operation is None:
        raise Refusal("GRAPHQL_VALIDATION_FAILED", "name the operation to run (operationName)")
    if not settings.graphql_introspection and _introspects(document, operation):
        raise Refusal("INTROSPECTION_DISABLED", "introspection is turned off on this stage")
    coerced = get_variable_values(
        graphql_schema, operation.variable_definitions or [], body.get("variables") or {}
    )
    if isinstance(coerced, list):
        raise Refusal("GRAPHQL_VALIDATION_FAILED", coerced[0].message)
    root = (
        graphql_schema.mutation_type
        if operation.operation.value == "mutation"
        else graphql_schema.query_type
    )
    complexity = _Cost(graphql_schema, document, coerced, MAX_COMPLEXITY).of(
        operation.selection_set, root
    )
    if complexity > MAX_COMPLEXITY:
        message = f"the query costs more than {MAX_COMPLEXITY}, the most allowed"
        raise Refusal("QUERY_TOO_COMPLEX", message)
    mutations = mutation_count(document, operation)
    if idempotent and mutations != 1:
        raise Refusal(
            "IDEMPOTENCY_ONE_MUTATION",
            f"a request with an Idempotency-Key holds exactly one mutation, not {mutations}",
        )
    if mutations > settings.graphql_max_mutations:
        raise Refusal(
            "TOO_MANY_MUTATIONS",
            f"{mutations} mutations; a request holds at most {settings.graphql_max_mutations}",
        )
    count_mutations(principal, mutations)


def _introspects(document: Any, operation: Any) -> bool:
    fields = _Cost(None, document, None, 0).fields(operation.selection_set)
    return any(field.name.value in ("__schema", "__type") for field in fields)


def count_mutations(principal: Principal, mutations: int) -> None:
    """Each mutation counts against the caller's rate limit, as the REST request it stands
    for would: the request itself counted once when it was authenticated."""
    for _ in range(mutations - 1):
        check_rate(principal.subject)


def execute(
    body: dict[str, Any], principal: Principal, correlation: str, idempotent: bool = False
) -> dict[str, Any]:
    """Run one GraphQL request; the response document (``data`` and ``errors``)."""
    from graphql import GraphQLError, parse  # lazy: graphql-core off REST cold starts

    from redfire_api.graphql_schema import (  # lazy: Strawberry off REST cold starts
        error_extensions,
        schema,
    )

    query = body["query"]
    try:
        document = parse(query)
    except GraphQLError as error:
        return {"data": None, "errors": [_error(error.message, "GRAPHQL_PARSE_FAILED")]}
    try:
        checked(body, document, principal, idempotent)
    except Refusal as refusal:
        return {"data": None, "errors": [_error(refusal.message, refusal.code, status=422)]}
    result = schema.execute_sync(
        query,
        variable_values=body.get("variables") or {},
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
    idempotent = request.headers.get(IDEMPOTENCY_HEADER) is not None
    document = await run_in_threadpool(
        execute, body, principal, correlation_id(request), idempotent
    )
    return JSONResponse(document)
