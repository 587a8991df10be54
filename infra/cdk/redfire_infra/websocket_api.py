"""The WebSocket API: $connect, $disconnect, subscribe/unsubscribe/ping and $default all
reach the ws function; the functions that post to connections get ManageConnections."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from redfire_core.resources import Declaration
from redfire_infra.function_factory import DeclaredFunction
from redfire_infra.http_api import AccessLogSettings, access_log_group, stage_throttle
from redfire_infra.nag import acknowledge
from redfire_infra.stage_config import StageConfig

WS_LOGICAL = "ws"
ACTION_ROUTES = ("subscribe", "unsubscribe", "ping")
MANAGEMENT_URL_VARIABLE = "REDFIRE_WS_MANAGEMENT_URL"


class WebSocketApi(Construct):
    """API Gateway WebSocket API routed by ``$request.body.action``, with access logs."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        declaration: Declaration,
        config: StageConfig,
        handler: lambda_.IFunction,
        managers: list[DeclaredFunction],
    ) -> None:
        super().__init__(scope, id)

        def integration(name: str) -> integrations.WebSocketLambdaIntegration:
            return integrations.WebSocketLambdaIntegration(f"{name}Integration", handler)

        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=declaration.name(WS_LOGICAL),
            description="RedFire real-time stream (orders, trades, positions, market data)",
            route_selection_expression="$request.body.action",
            connect_route_options=apigwv2.WebSocketRouteOptions(integration=integration("Connect")),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(
                integration=integration("Disconnect")
            ),
            default_route_options=apigwv2.WebSocketRouteOptions(integration=integration("Default")),
        )
        for action in ACTION_ROUTES:
            self.api.add_route(action, integration=integration(action.capitalize()))
        self.access_logs: logs.LogGroup | None = None
        self.cloudwatch_account: apigw.CfnAccount | None = None
        access_log_settings = None
        if config.websocket_access_logs:
            self.access_logs = access_log_group(self, declaration.name(WS_LOGICAL), config)
            access_log_settings = AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigw.AccessLogFormat.custom(
                    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                    '"requestTime":"$context.requestTime","routeKey":"$context.routeKey",'
                    '"eventType":"$context.eventType","status":"$context.status",'
                    '"connectionId":"$context.connectionId"}'
                ),
            )
            self.cloudwatch_account = self._cloudwatch_account()
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=declaration.stage,
            auto_deploy=True,
            throttle=stage_throttle(config),
            access_log_settings=access_log_settings,
        )
        if self.cloudwatch_account is not None:
            # API Gateway checks the account's role when the stage's log settings are written.
            self.stage.node.add_dependency(self.cloudwatch_account)
        else:
            acknowledge(
                self.stage,
                "AwsSolutions-APIG1",
                "WebSocket access logs are opt-in per stage (websocket_access_logs): they need "
                "API Gateway's account-wide CloudWatch role, which a stage should not take over "
                "unasked. Connections and subscriptions are logged by the ws function.",
            )
        stack = Stack.of(self)
        api = cast(CfnElement, self.api.node.default_child)  # an L2 construct's L1 resource
        api_logical_id = stack.resolve(stack.get_logical_id(api))
        for manager in managers:
            manager.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ManageWebSocketConnections",
                    actions=["execute-api:ManageConnections"],
                    resources=[
                        stack.format_arn(
                            service="execute-api",
                            resource=self.api.api_id,
                            resource_name=f"{declaration.stage}/{method}/@connections/*",
                        )
                        for method in ("POST", "DELETE")
                    ],
                )
            )
            manager.function.add_environment(MANAGEMENT_URL_VARIABLE, self.callback_url)
            for method in ("POST", "DELETE"):
                acknowledge(
                    manager.role,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
                    f"<AWS::AccountId>:<{api_logical_id}>/{declaration.stage}/{method}/"
                    "@connections/*]",
                    "Connection ids are made at run time by API Gateway: ManageConnections is "
                    "granted on this API's own stage and @connections path only.",
                )
        for route_key in ("$connect", "$disconnect", "$default", *ACTION_ROUTES):
            route = self.api.node.find_child(_route_child(route_key))
            acknowledge(
                route,
                "AwsSolutions-APIG4",
                "The ws function authorizes $connect itself (the API's HS256 JWT from the "
                "query string or Sec-WebSocket-Protocol, 401 when invalid); every other route "
                "is only reachable on a connection that $connect accepted.",
            )

    def _cloudwatch_account(self) -> apigw.CfnAccount:
        """API Gateway's CloudWatch role for the account and region (one setting shared by
        every API there), without which a WebSocket stage cannot write access logs. Kept when
        the stack is deleted, so other APIs' logs keep working; removed if the deploy that
        created it rolls back."""
        role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway (account-wide): write access and execution logs",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        role.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-wide logging role serves every API of the account and "
            "region, whose log groups it cannot know: AWS's managed policy for it is the "
            "documented setup.",
        )
        account = apigw.CfnAccount(self, "CloudWatchAccount", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        return account

    @property
    def url(self) -> str:
        return self.stage.url

    @property
    def callback_url(self) -> str:
        return self.stage.callback_url


def _route_child(route_key: str) -> str:
    """The construct id the L2 gives a route (``$connect-Route``, ``subscribe-Route``)."""
    return f"{route_key}-Route"
