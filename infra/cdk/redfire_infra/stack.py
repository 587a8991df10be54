"""``RedFire-<stage>``: the whole backend of one stage, composed from the constructs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from redfire_core.resources import APP, Declaration
from redfire_infra.data_store import DataStore
from redfire_infra.event_routing import EventRouting
from redfire_infra.http_api import HttpApi
from redfire_infra.market_data import MarketDataStorage
from redfire_infra.nag import acknowledge
from redfire_infra.observability import Observability
from redfire_infra.schedules import Schedules
from redfire_infra.services import Services
from redfire_infra.stage_config import StageConfig
from redfire_infra.websocket_api import WebSocketApi


def stack_name(stage: str) -> str:
    return f"RedFire-{stage}"


class RedFireStack(Stack):
    """Tables, bus and queues, functions, HTTP API, schedules and alarms of one stage."""

    def __init__(self, scope: Construct, *, config: StageConfig, **kwargs: Any) -> None:
        name = stack_name(config.stage)
        super().__init__(
            scope,
            name,
            stack_name=name,
            description=f"RedFire serverless trading backend ({config.stage})",
            **kwargs,
        )
        self.config = config
        self.declaration = declaration = Declaration(config.stage)
        Tags.of(self).add("project", APP)
        Tags.of(self).add("stage", config.stage)

        self.data_store = DataStore(self, "DataStore", declaration=declaration, config=config)
        self.routing = EventRouting(self, "EventRouting", declaration=declaration)
        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSigningKey",
            secret_name=declaration.jwt_secret_name,
            description="HS256 key that signs and verifies RedFire API tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=config.stateful_removal_policy,
        )
        acknowledge(
            self.jwt_secret,
            "AwsSolutions-SMG4",
            "An HS256 signing key has no rotation Lambda: rotating it invalidates every issued "
            "token (30 min lifetime), so it is rotated by an operator, not on a timer.",
        )
        self.services = Services(
            self,
            "Services",
            declaration=declaration,
            config=config,
            data_store=self.data_store,
            routing=self.routing,
            jwt_secret=self.jwt_secret,
        )
        self.market_data = MarketDataStorage(
            self,
            "MarketData",
            declaration=declaration,
            config=config,
            queues=self.routing.queues,
            functions=self.services.functions,
        )
        self.http_api = HttpApi(
            self,
            "HttpApi",
            declaration=declaration,
            config=config,
            handler=self.services.functions["api"].target,
        )
        self.websocket_api = WebSocketApi(
            self,
            "WebSocketApi",
            declaration=declaration,
            config=config,
            handler=self.services.functions["ws"].target,
            managers=[f for f in self.services.functions.values() if f.spec.manages_websockets],
        )
        self.schedules = Schedules(
            self, "Schedules", declaration=declaration, functions=self.services.functions
        )
        self.observability = Observability(
            self,
            "Observability",
            declaration=declaration,
            config=config,
            functions=self.services.functions,
            dead_letter_queues={
                **self.routing.dead_letter_queues,
                **self.services.stream_dead_letter_queues,
                **self.schedules.dead_letter_queues,
            },
            schedule_group=self.schedules.group_name,
        )

        CfnOutput(self, "ApiUrl", value=self.http_api.url)
        CfnOutput(self, "WebSocketUrl", value=self.websocket_api.url)
        CfnOutput(self, "EventBusName", value=self.routing.bus.event_bus_name)
