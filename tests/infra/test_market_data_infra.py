"""The market data bucket, its notification to the ingest queue, grants, and Timestream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from redfire_core.resources import BUCKETS, FUNCTIONS, Declaration
from tests.infra.conftest import Synthesis, synthesize


@pytest.fixture(scope="session")
def timestream_stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    yield synthesize("staging", tmp_path_factory.mktemp("cdk-ts"), timestream_enabled=True)


def _policies_of(synthesis: Synthesis, function: str) -> str:
    name = Declaration(synthesis.stage).name(function)
    _, fn = synthesis.named("AWS::Lambda::Function", "FunctionName", name)
    role_ref = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    docs = [
        r["Properties"]["PolicyDocument"]
        for r in synthesis.resources("AWS::IAM::Policy").values()
        if {"Ref": role_ref} in r["Properties"]["Roles"]
    ]
    return json.dumps(docs)


@pytest.mark.slow
@pytest.mark.parametrize("logical", sorted(BUCKETS))
def test_every_declared_bucket_exists_encrypted_and_private(dev: Synthesis, logical: str) -> None:
    _, bucket = dev.bucket(logical)
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert "BucketEncryption" in properties


@pytest.mark.slow
def test_uploads_notify_the_ingest_queue_on_object_created(dev: Synthesis) -> None:
    declaration = Declaration("dev")
    _, bucket = dev.bucket("marketdata-uploads")
    queue_id, _ = dev.named("AWS::SQS::Queue", "QueueName", declaration.name("ingest"))
    (config,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Queue"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert config["Filter"]["S3Key"]["Rules"] == [
        {"Name": "prefix", "Value": BUCKETS["marketdata-uploads"].prefix}
    ]
    assert dev.resources("Custom::S3BucketNotifications") == {}


@pytest.mark.slow
def test_functions_get_exactly_their_declared_bucket_access(dev: Synthesis) -> None:
    for name, spec in FUNCTIONS.items():
        policies = _policies_of(dev, name)
        assert ("s3:GetObject" in policies) == bool(spec.buckets_read), name
        assert ("s3:PutObject" in policies) == bool(spec.buckets_write), name


@pytest.mark.slow
def test_dev_has_no_timestream(dev: Synthesis) -> None:
    assert dev.resources("AWS::Timestream::Database") == {}
    assert "timestream" not in _policies_of(dev, "ingest")


@pytest.mark.slow
def test_timestream_stage_gets_database_table_with_magnetic_writes_and_grants(
    timestream_stage: Synthesis,
) -> None:
    (table,) = timestream_stage.resources("AWS::Timestream::Table").values()
    properties: dict[str, Any] = table["Properties"]
    assert properties["MagneticStoreWriteProperties"] == {"EnableMagneticStoreWrites": True}
    assert len(timestream_stage.resources("AWS::Timestream::Database")) == 1
    for name, spec in FUNCTIONS.items():
        assert ("timestream:WriteRecords" in _policies_of(timestream_stage, name)) == (
            spec.uses_timestream
        ), name
    _, ingest = timestream_stage.named(
        "AWS::Lambda::Function", "FunctionName", Declaration("staging").name("ingest")
    )
    env = ingest["Properties"]["Environment"]["Variables"]
    assert env["REDFIRE_MARKETDATA_STORE"] == "timestream"
