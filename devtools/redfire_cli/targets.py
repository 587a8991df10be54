"""Which RedFire a command talks to: a deployed stage (your AWS credentials) or, with no
``--stage``, the local cloud described by ``.redfire/dev.env``."""

from __future__ import annotations

import os
from pathlib import Path

from redfire_cli.localcloud import dev_env, environment


def select_target(stage: str | None, workdir: Path) -> str:
    """Point this process at the target and return its stage name."""
    if stage:
        os.environ["REDFIRE_STAGE"] = stage
        return stage
    values = dev_env.read(dev_env.dev_env_path(workdir))
    if "AWS_ENDPOINT_URL" not in values:
        raise SystemExit(
            "redfire: no --stage and no local cloud (.redfire/dev.env); "
            "start one with `make dev` or name a deployed stage"
        )
    environment.apply(environment.handler_environment(values["AWS_ENDPOINT_URL"]))
    return environment.LOCAL_STAGE
