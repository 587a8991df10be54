"""The web console of a stage: a private, versioned bucket read by CloudFront through origin
access control, HTTPS only with security headers, the API's paths routed to the HTTP API,
the WebSocket URL deployed in config.json; cdk-nag clean with reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from redfire_infra.nag import acknowledge, add_nag_checks
from redfire_infra.stage_config import stage_config_from_context
from redfire_infra.web_console import ConsoleNotBuilt, WebConsole
from tests.infra.conftest import cdk_json_context

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/"
WS_URL = "wss://ws123.execute-api.us-east-1.amazonaws.com/dev"
SECURITY_HEADERS_POLICY = "67f7725c-6f97-4210-82d7-5512b31e9d03"  # AWS managed
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed

pytestmark = pytest.mark.slow


def build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>RedFire console</title>")
    (dist / "assets" / "index-abc.js").write_text("console.log(1)")
    return dist


def synth(tmp_path: Path, dist: Path) -> tuple[dict[str, Any], Path]:
    outdir = tmp_path / "cdk.out"
    app = App(outdir=str(outdir))
    add_nag_checks(app)  # an unacknowledged finding fails the synth
    stack = Stack(app, "ConsoleTest")
    config = stage_config_from_context({**cdk_json_context(), "stage": "dev"})
    results = s3.Bucket(stack, "Results", enforce_ssl=True)
    acknowledge(results, "AwsSolutions-S1", "a stand-in for the backtest results bucket")
    WebConsole(stack, "WebConsole", config=config, http_api_url=API_URL,
               websocket_url=WS_URL, results_bucket=results, build=dist)  # fmt: skip
    app.synth()
    template: dict[str, Any] = json.loads((outdir / "ConsoleTest.template.json").read_text())
    return template, outdir


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("web-console")
    return synth(tmp, build(tmp))


@pytest.fixture(scope="module")
def template(synthesized: tuple[dict[str, Any], Path]) -> dict[str, Any]:
    return synthesized[0]


def of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def console_bucket(template: dict[str, Any]) -> dict[str, Any]:
    (bucket,) = [b for k, b in template["Resources"].items()
                 if b["Type"] == "AWS::S3::Bucket" and k.startswith("WebConsole")]  # fmt: skip
    return bucket


def test_the_bucket_is_private_versioned_and_encrypted(template: dict[str, Any]) -> None:
    properties = console_bucket(template)["Properties"]

    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}  # fmt: skip
    assert "BucketEncryption" in properties


def test_only_cloudfront_reads_the_bucket_through_origin_access_control(
    template: dict[str, Any],
) -> None:
    (oac,) = of_type(template, "AWS::CloudFront::OriginAccessControl")
    (policy,) = [
        p
        for k, p in template["Resources"].items()
        if p["Type"] == "AWS::S3::BucketPolicy" and k.startswith("WebConsole")
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    reads = [s for s in statements if s["Effect"] == "Allow" and "s3:GetObject" in str(s)]

    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert len(reads) == 1
    assert reads[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "AWS:SourceArn" in json.dumps(reads[0]["Condition"])  # this distribution only
    denied = [s for s in statements if s["Effect"] == "Deny"]
    assert any("aws:SecureTransport" in json.dumps(s) for s in denied)


def test_every_behavior_is_https_only_with_security_headers(template: dict[str, Any]) -> None:
    (distribution,) = of_type(template, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]

    assert {b["ViewerProtocolPolicy"] for b in behaviors} == {"https-only"}
    assert {b["ResponseHeadersPolicyId"] for b in behaviors} == {SECURITY_HEADERS_POLICY}
    assert config["DefaultRootObject"] == "console/index.html"


def test_the_api_paths_go_to_the_http_api_uncached_with_every_method(
    template: dict[str, Any],
) -> None:
    (distribution,) = of_type(template, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    api = {b["PathPattern"]: b for b in config["CacheBehaviors"]}

    assert set(api) == {"/v1/*", "/graphql"}
    for behavior in api.values():
        origin = origins[behavior["TargetOriginId"]]
        assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
        assert "execute-api" not in json.dumps(origin.get("S3OriginConfig", {}))
        assert behavior["CachePolicyId"] == CACHING_DISABLED
        assert set(behavior["AllowedMethods"]) >= {"POST", "PUT", "PATCH", "DELETE"}
    assert "abc123.execute-api" in json.dumps(origins[api["/v1/*"]["TargetOriginId"]])


def test_the_build_and_config_json_are_deployed_under_console(
    synthesized: tuple[dict[str, Any], Path],
) -> None:
    template, outdir = synthesized
    (deployment,) = of_type(template, "Custom::CDKBucketDeployment")
    properties = deployment["Properties"]
    configs = [json.loads(p.read_text()) for p in outdir.glob("asset.*/config.json")]
    builds = [p for p in outdir.glob("asset.*/index.html")]

    assert properties["DestinationBucketKeyPrefix"] == "console/"
    assert properties["DistributionPaths"] == ["/console/*"]  # invalidated on each deploy
    assert len(properties["SourceObjectKeys"]) == 2  # the build, and config.json
    assert configs == [{"api_url": "", "ws_url": WS_URL}]  # same origin API, the WebSocket
    assert len(builds) == 1 and "RedFire console" in builds[0].read_text()


def test_the_console_origin_may_read_backtest_results_cross_origin(
    template: dict[str, Any],
) -> None:
    (results,) = [b for k, b in template["Resources"].items() if k.startswith("Results")
                  and b["Type"] == "AWS::S3::Bucket"]  # fmt: skip
    (rule,) = results["Properties"]["CorsConfiguration"]["CorsRules"]

    assert rule["AllowedMethods"] == ["GET"]  # presigned links only, read only
    (origin,) = rule["AllowedOrigins"]
    assert "DomainName" in json.dumps(origin) and "https://" in json.dumps(origin)


def test_a_stage_asking_for_the_console_without_a_build_says_how_to_build_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConsoleNotBuilt, match="make console"):
        synth(tmp_path, tmp_path / "nothing")


def test_the_console_is_opt_in_per_stage() -> None:
    stages = cdk_json_context()["redfire:stages"]

    assert all(isinstance(settings["web_console"], bool) for settings in stages.values())
