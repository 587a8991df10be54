"""Which RedFire a command talks to: a deployed stage (your AWS credentials) or, with no
``--stage``, the local cloud described by ``.redfire/dev.env``.

On a deployed stage the region is the one your AWS configuration names (``AWS_REGION``,
``AWS_DEFAULT_REGION`` or the profile's ``region``), never a default; the names that
CloudFormation gave the stage's buckets are read from the stack's outputs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from redfire_cli.localcloud import dev_env, environment


def select_target(stage: str | None, workdir: Path) -> str:
    """Point this process at the target and return its stage name."""
    if stage:
        from redfire_core.adapters.models import RegionNotConfigured, region

        try:
            resolved = region()
        except RegionNotConfigured as error:
            raise SystemExit(f"redfire: {error}") from None
        # PynamoDB reads AWS_REGION, boto3 clients AWS_DEFAULT_REGION: one region for both.
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = resolved
        os.environ["REDFIRE_STAGE"] = stage
        _forget_settings()
        return stage
    values = dev_env.read(dev_env.dev_env_path(workdir))
    if "AWS_ENDPOINT_URL" not in values:
        raise SystemExit(
            "redfire: no --stage and no local cloud (.redfire/dev.env); "
            "start one with `make dev` or name a deployed stage"
        )
    environment.apply(environment.handler_environment(values["AWS_ENDPOINT_URL"]))
    _forget_settings()
    return environment.LOCAL_STAGE


def use_stage_buckets(stage: str, cloudformation: Any = None) -> None:
    """Give this process the stage's bucket names, as its functions get them: from the
    ``RedFire-<stage>`` stack's outputs (``resources.Bucket.output_name``)."""
    from redfire_core.resources import BUCKETS

    missing = [b for b in BUCKETS.values() if not os.environ.get(b.environment_variable)]
    if not missing:
        return
    if cloudformation is None:
        import boto3

        cloudformation = boto3.client("cloudformation")
    stack = f"RedFire-{stage}"
    try:
        (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        raise SystemExit(f"redfire: cannot read the outputs of stack {stack}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    for bucket in missing:
        if bucket.output_name not in outputs:
            raise SystemExit(f"redfire: stack {stack} has no output {bucket.output_name}")
        os.environ[bucket.environment_variable] = outputs[bucket.output_name]
    _forget_settings()


def _forget_settings() -> None:
    """Settings are cached per process: read them again from the environment just set."""
    from redfire_core.config import get_settings

    get_settings.cache_clear()
