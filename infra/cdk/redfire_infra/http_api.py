"""The public HTTP API: every request (``$default`` route) goes to the api function."""

from __future__ import annotations

import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from redfire_core.resources import Declaration
from redfire_infra.nag import acknowledge
from redfire_infra.stage_config import StageConfig

API_LOGICAL = "api"


@jsii.implements(apigwv2.IAccessLogSettings)
class AccessLogSettings:
    """Where and how the stage writes access logs (``IAccessLogSettings`` has no struct)."""

    def __init__(
        self, destination: apigwv2.IAccessLogDestination, format: apigw.AccessLogFormat
    ) -> None:
        self._destination = destination
        self._format = format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class HttpApi(Construct):
    """API Gateway HTTP API with JSON access logs and the stage's throttling."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        declaration: Declaration,
        config: StageConfig,
        handler: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=declaration.name(API_LOGICAL),
            description="RedFire HTTP API (FastAPI in the api function)",
            create_default_stage=False,
            default_integration=integrations.HttpLambdaIntegration("ApiFunction", handler),
        )
        self.access_logs = access_log_group(self, declaration.name(API_LOGICAL), config)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            auto_deploy=True,
            throttle=stage_throttle(config),
            access_log_settings=AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        acknowledge(
            self.api.node.find_child("DefaultRoute"),
            "AwsSolutions-APIG4",
            "Authorization is done in the api function: it verifies the HS256 JWT "
            "(redfire_core.auth) on every route that needs it, so the gateway forwards every "
            "request to it, including the public login and health routes.",
        )

    @property
    def url(self) -> str:
        return self.stage.url


def access_log_group(scope: Construct, api_name: str, config: StageConfig) -> logs.LogGroup:
    """The access log group of an API Gateway API, kept as long as the stage keeps logs."""
    return logs.LogGroup(
        scope,
        "AccessLogs",
        log_group_name=f"/aws/apigateway/{api_name}",
        retention=config.log_retention,
        removal_policy=config.stateful_removal_policy,
    )


def stage_throttle(config: StageConfig) -> apigwv2.ThrottleSettings:
    """Stage-wide throttling, the same for the HTTP and the WebSocket API."""
    return apigwv2.ThrottleSettings(
        rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst
    )
