"""One synthesis per stage per session (synth costs seconds and ~1 GB), shared by the tests.

The app is built exactly as ``cdk synth`` builds it: context from ``cdk.json``, cdk-nag on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Logical id prefix of CDK's bucket-emptying function on dev (auto_delete_objects): the one
# function outside the declaration, on the one stage whose data is disposable.
AUTO_DELETE_PROVIDER = "CustomS3AutoDeleteObjectsCustomResourceProvider"


@dataclass
class Synthesis:
    """The outcome of synthesizing ``RedFire-<stage>`` with the nag checks."""

    stage: str
    app: Any
    stack: Any
    outdir: Path
    error: Exception | None

    @property
    def template(self) -> dict[str, Any]:
        if self.error is not None:
            pytest.fail(f"synthesis of {self.stage} failed: {self.error}")
        return json.loads((self.outdir / f"{self.stack.stack_name}.template.json").read_text())

    @property
    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, for every resource of one CloudFormation type."""
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def named(self, resource_type: str, name_property: str, name: str) -> tuple[str, dict]:
        """The one resource of ``resource_type`` whose ``name_property`` is ``name``."""
        found = [
            (logical_id, resource)
            for logical_id, resource in self.resources(resource_type).items()
            if resource["Properties"].get(name_property) == name
        ]
        assert len(found) == 1, f"expected one {resource_type} named {name}, found {len(found)}"
        return found[0]

    def bucket(self, logical: str) -> tuple[str, dict]:
        """The declared bucket ``logical``, found through the stack output naming it
        (CloudFormation names buckets, so there is no name to look for)."""
        from redfire_core.resources import BUCKETS

        output = self.template["Outputs"][BUCKETS[logical].output_name]
        logical_id = output["Value"]["Ref"]
        return logical_id, self.template["Resources"][logical_id]


def cdk_json_context() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def synthesize(stage: str, outdir: Path, **settings: Any) -> Synthesis:
    """Synthesize ``stage`` with its cdk.json settings, ``settings`` overriding some of them."""
    from redfire_infra.app import build_app

    context = cdk_json_context()
    stages = context["redfire:stages"]
    stages[stage] = {**stages[stage], **settings}
    app, stack = build_app({**context, "stage": stage}, str(outdir))
    try:
        app.synth()
    except Exception as error:  # reported by the nag test, failed by every other one
        return Synthesis(stage, app, stack, outdir, error)
    return Synthesis(stage, app, stack, outdir, None)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    yield synthesize("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    """Staging exactly as in cdk.json (dev and prod tests cover the overrides)."""
    yield synthesize("staging", tmp_path_factory.mktemp("cdk-staging"))


# Every stage of cdk.json, for tests that hold on each stage's template.
STAGES = ("dev", "staging", "prod")

# Prod as in cdk.json plus an alarm e-mail, so the notification path is synthesized and checked,
# an external identity provider, so its function settings are too, WebSocket access logs
# (opt-in), so the API Gateway account role they need is too, and concurrency settings.
PROD_ALARM_EMAIL = "alarms@example.com"
PROD_JWKS = {
    "url": "https://idp.example.com/.well-known/jwks.json",
    "issuer": "https://idp.example.com/",
    "audience": "redfire-prod",
    "account_claim": "https://redfire.dev/account_id",
}


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    yield synthesize(
        "prod",
        tmp_path_factory.mktemp("cdk-prod"),
        alarm_email=PROD_ALARM_EMAIL,
        jwks=PROD_JWKS,
        websocket_access_logs=True,
        # Opt-ins and overrides, so their template paths are synthesized and scanned too.
        queue_max_concurrency={"risk": 4},
        reserved_concurrency={"orders": 5},
        snapstart=True,  # versions, aliases and triggers on the aliases, scanned by cdk-nag
    )
