"""What a cold start loads: no X-Ray SDK without deep tracing, no PyJWT/cryptography for
HS256, no pydantic-settings (each measured in benchmarks/cold_import.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.common import bench_environment

HEAVY = ("aws_xray_sdk", "jwt", "cryptography", "pydantic_settings")


def loaded_after_import(module: str, **env: str) -> set[str]:
    """The HEAVY top-level packages in sys.modules after a fresh interpreter imports module."""
    code = (
        f"import sys, json, {module}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    environment = bench_environment()
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)  # as deployed: active tracing
    environment.update({"LAMBDA_TASK_ROOT": "/var/task", **env})
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "module", ["redfire_api.handler", "redfire_outbox.handler", "redfire_stream.ws_handler"]
)
def test_a_handler_without_deep_tracing_loads_none_of_the_heavy_packages(module: str) -> None:
    assert loaded_after_import(module, REDFIRE_DEEP_TRACING="false") == set()


def test_a_stage_with_deep_tracing_loads_the_xray_sdk() -> None:
    assert "aws_xray_sdk" in loaded_after_import(
        "redfire_outbox.handler", REDFIRE_DEEP_TRACING="true"
    )
