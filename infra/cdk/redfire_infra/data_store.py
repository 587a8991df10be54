"""DynamoDB tables, one per ``redfire_core.resources.TABLES`` entry."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from redfire_core.resources import Declaration, Table
from redfire_infra.naming import construct_id
from redfire_infra.stage_config import StageConfig

_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}
_STREAM_VIEWS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
}


def _attribute(table: Table, name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[table.attribute_types()[name]])


class DataStore(Construct):
    """Pay-per-request tables with point-in-time recovery, TTL and streams as declared."""

    def __init__(
        self, scope: Construct, id: str, *, declaration: Declaration, config: StageConfig
    ) -> None:
        super().__init__(scope, id)
        self.tables: dict[str, dynamodb.Table] = {}
        for logical, spec in declaration.tables.items():
            table = dynamodb.Table(
                self,
                construct_id(logical),
                table_name=declaration.name(logical),
                partition_key=_attribute(spec, spec.partition_key),
                sort_key=_attribute(spec, spec.sort_key) if spec.sort_key else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                time_to_live_attribute=spec.ttl_attribute,
                stream=_STREAM_VIEWS[spec.stream] if spec.stream else None,
                removal_policy=config.stateful_removal_policy,
                deletion_protection=config.table_deletion_protection,
            )
            for gsi in spec.gsis:
                table.add_global_secondary_index(
                    index_name=gsi.name,
                    partition_key=_attribute(spec, gsi.partition_key),
                    sort_key=_attribute(spec, gsi.sort_key) if gsi.sort_key else None,
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            self.tables[logical] = table
