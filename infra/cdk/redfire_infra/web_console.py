"""The web console of a stage: the Vite build in a private S3 bucket behind CloudFront, which
also routes ``/v1/*`` and ``/graphql`` to the HTTP API, so the console and the API share one
origin (no CORS). The WebSocket URL reaches the page in ``console/config.json``, written by
the deployment next to the build (no Docker at synth: the build is zipped as it is)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from redfire_infra.nag import acknowledge
from redfire_infra.stage_config import StageConfig

REPOSITORY = Path(__file__).resolve().parents[3]
DEFAULT_BUILD = REPOSITORY / "console" / "dist"
PREFIX = "console"  # the build's base path (console/vite.config.ts `base`)
API_PATHS = ("/v1/*", "/graphql")


class ConsoleNotBuilt(RuntimeError):
    """A stage asks for the web console but there is no build to deploy."""


class WebConsole(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        http_api_url: str,
        websocket_url: str,
        results_bucket: s3.Bucket | None = None,
        build: Path = DEFAULT_BUILD,
    ) -> None:
        super().__init__(scope, id)
        if not (build / "index.html").is_file():
            raise ConsoleNotBuilt(
                f"{config.stage}: web_console is on but {build} holds no build: run "
                "`make console` (or set web_console to false in cdk.json)"
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            # A rebuild replaces every file; old versions are of no use after a month.
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            removal_policy=RemovalPolicy.DESTROY,  # only a build: redeployed from the repo
            auto_delete_objects=True,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Holds only the console's static build, readable only by CloudFront; its "
            "requests reach the API, whose access logs record them.",
        )
        # https://<api id>.execute-api.<region>.amazonaws.com/ -> the host name
        api_host = Fn.select(2, Fn.split("/", http_api_url))
        api_behavior = cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(
                api_host, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY
            ),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            # Every header but Host (API Gateway routes on its own host name), the query
            # string and cookies: the API sees the request as the client sent it.
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"RedFire {config.stage} web console and API",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            ),
            additional_behaviors={path: api_behavior for path in API_PATHS},
            default_root_object=f"{PREFIX}/index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate allows only TLSv1 as minimum protocol; "
            "a custom domain and ACM certificate (TLSv1.2_2021) is the operator's choice.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "No geo restriction: traders reach their own accounts from anywhere; the API "
            "authenticates every request.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "No WAF web ACL: $5 a month plus rules against an idle budget of a few dollars; "
            "the HTTP API throttles per stage and the API rate-limits per account.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "No CloudFront access logs: the console's files are static, and API requests "
            "are logged by the HTTP API's access logs.",
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            destination_bucket=self.bucket,
            destination_key_prefix=f"{PREFIX}/",
            sources=[
                s3deploy.Source.asset(str(build)),
                # Same origin for the API (empty base URL); the WebSocket is API Gateway's.
                s3deploy.Source.json_data("config.json", {"api_url": "", "ws_url": websocket_url}),
            ],
            distribution=self.distribution,
            distribution_paths=[f"/{PREFIX}/*"],
            memory_limit=256,
        )
        # CDK's provider function is one per stack, a child of the stack, not of the deployment.
        for provider in Stack.of(self).node.children:
            if provider.node.id.startswith("Custom::CDKBucketDeployment"):
                self._acknowledge_provider(provider)
        if results_bucket is not None:
            # The backtest page reads a result's presigned S3 links from the console's origin.
            results_bucket.add_cors_rule(
                allowed_methods=[s3.HttpMethods.GET],
                allowed_origins=[f"https://{self.distribution.distribution_domain_name}"],
                max_age=3600,
            )
        CfnOutput(
            Stack.of(self),
            "ConsoleUrl",
            value=f"https://{self.distribution.distribution_domain_name}/{PREFIX}/",
            description="the web console (sign in with an API key or a token)",
        )

    def _acknowledge_provider(self, provider: IConstruct) -> None:
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's BucketDeployment provider: AWSLambdaBasicExecutionRole for its own logs.",
        )
        stack = Stack.of(self)
        bucket_arn = stack.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        # What CDK's provider is granted to copy the build from CDK's asset bucket into the
        # console bucket and to invalidate the distribution (which takes no resource ARN).
        for finding in (
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
            "<AWS::Region>/*",
            f"Resource::<{bucket_arn}.Arn>/*",
            "Resource::*",
        ):
            acknowledge(
                provider,
                f"AwsSolutions-IAM5[{finding}]",
                "CDK's BucketDeployment provider copies the console build from CDK's asset "
                "bucket to the console bucket (object actions on those two buckets only) and "
                "invalidates the distribution (CreateInvalidation takes no resource ARN).",
            )
        acknowledge(
            provider,
            "AwsSolutions-L1",
            "CDK's BucketDeployment provider pins its own Python runtime; it runs only while "
            "a deploy copies the build.",
        )
