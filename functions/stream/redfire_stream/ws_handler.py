"""WebSocket routes ($connect, $disconnect, subscribe, unsubscribe, ping, $default).

$connect authenticates with the API's JWT (``?token=`` or ``Sec-WebSocket-Protocol``)
and refuses a bad one with 401; every other route hands the message to the stream
service, which answers on the socket through the management API.

The one exception is Alpaca's trade_updates stream (``?dialect=alpaca``, no token):
alpaca-py authenticates after connecting, with ``{"action": "authenticate", "data":
{"key_id", "secret_key"}}``, so that connection is accepted without a principal, receives
nothing before its key is checked (as Alpaca's key headers are on `/v2`), and is closed
after 10 s without it (a delayed message on the stream queue; docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from redfire_core import hs256
from redfire_core.auth import (
    InvalidToken,
    JwksCache,
    Principal,
    SecretCache,
    jwks_from_settings,
    verify_token,
)
from redfire_core.config import get_settings
from redfire_core.domain.keys import KEY_PREFIX
from redfire_core.events import iso
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.snapstart import forget_on_restore
from redfire_stream.alpaca_keys import api_keys as _api_keys
from redfire_stream.wiring import management_url, schedule_auth_deadline, stream

if TYPE_CHECKING:
    pass

SUBPROTOCOL = "redfire"
ALPACA_DIALECT = "alpaca"  # ?dialect=alpaca: Alpaca's trade_updates stream


class Identity(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source_ip: str = Field("", alias="sourceIp")


class RequestContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    route_key: str = Field(alias="routeKey")
    event_type: str = Field(alias="eventType")
    connection_id: str = Field(alias="connectionId")
    domain_name: str = Field("", alias="domainName")
    stage: str = ""
    request_time_epoch: int = Field(0, alias="requestTimeEpoch")
    identity: Identity = Field(default_factory=lambda: Identity(sourceIp=""))


class WebSocketEvent(BaseModel):
    """The API Gateway WebSocket event, as much of it as the routes read."""

    model_config = ConfigDict(extra="ignore")

    request_context: RequestContext = Field(alias="requestContext")
    headers: dict[str, str] | None = None
    query_string_parameters: dict[str, str] | None = Field(None, alias="queryStringParameters")
    body: str | None = None
    is_base64_encoded: bool = Field(False, alias="isBase64Encoded")


@forget_on_restore
@cache
def _secret() -> SecretCache:
    return SecretCache(get_settings().declaration.jwt_secret_name)


@forget_on_restore
@cache
def _jwks() -> JwksCache | None:
    return jwks_from_settings(get_settings())


def offered_token(event: WebSocketEvent) -> tuple[str | None, str | None]:
    """(token, subprotocol to answer with) from the query string or the protocol header."""
    query = event.query_string_parameters or {}
    if query.get("token"):
        return query["token"], None
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    tokens = [p for p in offered if p.count(".") == 2]
    if not tokens:
        return None, None
    others = [p for p in offered if p not in tokens]
    return tokens[0], SUBPROTOCOL if SUBPROTOCOL in others else (others or tokens)[0]


@dataclass(frozen=True)
class Admitted:
    """A connecting token's principal and what bounds its connection's life."""

    principal: Principal
    expires_at: int  # the token's ``exp``
    key_id: str | None  # the API key it was exchanged from, if it was
    subprotocol: str | None


def authenticate(event: WebSocketEvent) -> Admitted | None:
    """The principal of a valid token whose API key (if it is one) is not revoked."""
    token, subprotocol = offered_token(event)
    if not token:
        return None
    try:
        principal = verify_token(token, _secret().get(), get_settings(), _jwks())
    except InvalidToken:
        return None
    key_id = principal.subject if principal.subject.startswith(KEY_PREFIX) else None
    if key_id is not None and not _api_keys().is_live(key_id):
        return None
    # verify_token required a numeric exp; the signature is checked, so reading it is safe.
    expires_at = int(hs256.unverified_claims(token)["exp"])
    return Admitted(principal, expires_at, key_id, subprotocol)


def route(event: WebSocketEvent) -> dict[str, Any]:
    context = event.request_context
    service = stream(management_url(context.domain_name, context.stage))
    if context.event_type == "CONNECT":
        query = event.query_string_parameters or {}
        if query.get("dialect") == ALPACA_DIALECT and offered_token(event)[0] is None:
            # Alpaca's stream authenticates after connecting: no principal yet, and closed
            # at the deadline unless a key is checked before it.
            service.connect_alpaca(context.connection_id, iso_now(context))
            schedule_auth_deadline(context.connection_id)
            count("WebSocketAlpacaConnected", 1)
            return {"statusCode": 200}
        admitted = authenticate(event)
        if admitted is None:
            count("WebSocketRefused", 1)
            return {"statusCode": 401}
        principal = admitted.principal
        service.connect(
            context.connection_id,
            principal.account_id,
            principal.subject,
            iso_now(context),
            expires_at=admitted.expires_at,
            key_id=admitted.key_id,
        )
        logger.info("connected", extra={"connection_id": context.connection_id})
        reply: dict[str, Any] = {"statusCode": 200}
        if admitted.subprotocol:
            reply["headers"] = {"Sec-WebSocket-Protocol": admitted.subprotocol}
        return reply
    if context.event_type == "DISCONNECT":
        service.disconnect(context.connection_id)
        return {"statusCode": 200}
    service.receive(context.connection_id, event.body, context.identity.source_ip)
    return {"statusCode": 200}


def iso_now(context: RequestContext) -> str:
    moment = (
        datetime.fromtimestamp(context.request_time_epoch / 1000, UTC)
        if context.request_time_epoch
        else datetime.now(UTC)
    )
    return iso(moment)


@validated_env
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return route(WebSocketEvent.model_validate(event))
