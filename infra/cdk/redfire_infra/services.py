"""Every declared function, the layer they share, and what triggers them (queues, streams)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from redfire_core.resources import (
    CORE_LAYER,
    FUNCTIONS,
    LAYERS,
    QUEUES,
    STREAM_CONSUMERS,
    STREAM_FILTERS,
    Declaration,
)
from redfire_infra.bundling import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    layer_code,
    plugins_layer_code,
)
from redfire_infra.data_store import DataStore
from redfire_infra.event_routing import EventRouting, encrypted_queue
from redfire_infra.function_factory import DeclaredFunction, SharedResources
from redfire_infra.nag import acknowledge
from redfire_infra.naming import construct_id
from redfire_infra.plugin_layer import PLUGINS_LAYER
from redfire_infra.stage_config import StageConfig

# A record that still fails after this many retries (each time bisected) is reported to the
# stream's DLQ; the outbox row itself stays in the table, so nothing is lost.
STREAM_RETRY_ATTEMPTS = 10
STREAM_DLQ_RETENTION = Duration.days(14)


def stream_dlq_logical(consumer: str) -> str:
    return f"{consumer}-stream-dlq"


class Services(Construct):
    """Functions from ``FUNCTIONS``; SQS sources from ``QUEUES``; streams from
    ``STREAM_CONSUMERS``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        declaration: Declaration,
        config: StageConfig,
        data_store: DataStore,
        routing: EventRouting,
        jwt_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, id)
        # Only the layers some function uses are built (each function names its own).
        used = {name for spec in FUNCTIONS.values() for name in spec.layers}
        self.layers: dict[str, lambda_.ILayerVersion] = {
            name: lambda_.LayerVersion(
                self,
                construct_id(name, "Layer"),  # "CoreLayer" as before the split
                layer_version_name=declaration.name(name),
                description=f"{layer.purpose} (arm64, cp312)"[:256],
                code=layer_code(name),
                compatible_runtimes=[LAMBDA_RUNTIME],
                compatible_architectures=[LAMBDA_ARCHITECTURE],
            )
            for name, layer in LAYERS.items()
            if name in used
        }
        self.layer = self.layers[CORE_LAYER]
        # The stage's plug-ins (cdk.json "plugins"), only when it names some.
        if config.plugins:
            self.layers[PLUGINS_LAYER] = lambda_.LayerVersion(
                self,
                "PluginsLayer",
                layer_version_name=declaration.name(PLUGINS_LAYER),
                description="strategy, provider and gateway plug-ins (cdk.json plugins)",
                code=plugins_layer_code(config.plugins),
                compatible_runtimes=[LAMBDA_RUNTIME],
                compatible_architectures=[LAMBDA_ARCHITECTURE],
            )
        shared = SharedResources(
            tables=data_store.tables,
            bus=routing.bus,
            jwt_secret=jwt_secret,
            layers=self.layers,
            queues=dict(routing.queues),
        )
        self.functions: dict[str, DeclaredFunction] = {
            name: DeclaredFunction(
                self,
                construct_id(name),
                spec=spec,
                declaration=declaration,
                config=config,
                shared=shared,
            )
            for name, spec in FUNCTIONS.items()
        }

        for logical, queue_spec in QUEUES.items():
            self.functions[queue_spec.consumer].target.add_event_source(
                sources.SqsEventSource(
                    routing.queues[logical],
                    batch_size=queue_spec.batch_size,
                    report_batch_item_failures=True,
                    max_concurrency=config.max_concurrency(logical),
                )
            )

        self.stream_dead_letter_queues: dict[str, sqs.Queue] = {}
        for table_logical, consumer in STREAM_CONSUMERS.items():
            dlq_logical = stream_dlq_logical(consumer)
            dlq = encrypted_queue(
                self,
                construct_id(consumer, "StreamDlq"),
                queue_name=declaration.name(dlq_logical),
                retention_period=STREAM_DLQ_RETENTION,
            )
            acknowledge(
                dlq,
                "AwsSolutions-SQS3",
                "This queue is itself a DLQ: the on-failure destination of the "
                f"{table_logical} stream's event source mapping, which no redrive policy names.",
            )
            self.functions[consumer].target.add_event_source(
                sources.DynamoEventSource(
                    data_store.tables[table_logical],
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    bisect_batch_on_error=True,
                    retry_attempts=STREAM_RETRY_ATTEMPTS,
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(dlq),
                    filters=(
                        [lambda_.FilterCriteria.filter(STREAM_FILTERS[table_logical])]
                        if table_logical in STREAM_FILTERS
                        else None
                    ),
                )
            )
            self.stream_dead_letter_queues[dlq_logical] = dlq
