"""Third-party scanners on the synthesized prod template: cfn-lint finds no error and checkov
no failed check; every check that does not apply is skipped from one list with its reason
(redfire_infra.nag.CHECKOV_SKIPS). checkov runs from its own venv (``make scanners``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import REPO_ROOT, Synthesis

pytestmark = pytest.mark.slow

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
SCAN_TIMEOUT_SECONDS = 240


@dataclass(frozen=True)
class Scans:
    cfn_lint: list[dict[str, Any]]  # cfn-lint's matches
    checkov: dict[str, Any]  # checkov's report for the cloudformation framework


def _template_path(synthesis: Synthesis) -> Path:
    assert synthesis.error is None, f"synthesis failed: {synthesis.error}"
    return synthesis.outdir / f"{synthesis.stack.stack_name}.template.json"


@pytest.fixture(scope="module")
def scans(prod: Synthesis) -> Iterator[Scans]:
    """Both scanners on the prod template, side by side (each takes a few seconds)."""
    if not CHECKOV.is_file():
        pytest.fail(f"{CHECKOV} is missing: run `make scanners` (make test does)")
    template = str(_template_path(prod))
    lint = subprocess.Popen(
        [str(CFN_LINT), "--format", "json", template],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    checkov = subprocess.Popen(
        [
            str(CHECKOV),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "--output",
            "json",
            "--file",
            template,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lint_out, lint_err = lint.communicate(timeout=SCAN_TIMEOUT_SECONDS)
    checkov_out, checkov_err = checkov.communicate(timeout=SCAN_TIMEOUT_SECONDS)
    assert lint_out.strip(), f"cfn-lint printed nothing (exit {lint.returncode}): {lint_err}"
    assert checkov_out.strip(), f"checkov printed nothing ({checkov.returncode}): {checkov_err}"
    yield Scans(cfn_lint=json.loads(lint_out), checkov=json.loads(checkov_out))


def test_cfn_lint_finds_no_error_in_the_prod_template(scans: Scans) -> None:
    errors = [
        f"{m['Rule']['Id']} {m['Message']} ({m['Location']['Path']})"
        for m in scans.cfn_lint
        if m["Level"] == "Error"
    ]
    assert errors == []


def test_checkov_finds_no_failed_check_in_the_prod_template(scans: Scans) -> None:
    assert scans.checkov["check_type"] == "cloudformation"
    assert scans.checkov["summary"]["parsing_errors"] == 0
    assert scans.checkov["summary"]["passed"] > 100  # it did check the resources
    failed = [
        f"{f['check_id']} {f['check_name']} ({f['resource']})"
        for f in scans.checkov["results"]["failed_checks"]
    ]
    assert failed == []


def test_every_checkov_skip_comes_from_the_one_list_with_its_reason(scans: Scans) -> None:
    from redfire_infra.nag import CHECKOV_SKIPS

    reasons = {skip.check: skip.reason for skip in CHECKOV_SKIPS}
    skipped = scans.checkov["results"]["skipped_checks"]
    assert skipped
    for check in skipped:
        reason = check["check_result"]["suppress_comment"]
        assert reason == reasons.get(check["check_id"]), check["resource"]


@pytest.mark.parametrize(
    "check",
    [
        "CKV_AWS_115",  # reserved concurrency: skipped only where the stage reserves none
        "CKV_AWS_27",  # SQS encryption: skipped only for SQS-managed SSE
    ],
)
def test_a_conditional_skip_is_left_off_where_the_setting_is_there(
    prod: Synthesis, check: str
) -> None:
    # Given prod synthesized with reserved concurrency for the orders function (conftest.py)
    resources = prod.template["Resources"]
    skipped = {
        logical_id
        for logical_id, resource in resources.items()
        if check in json.dumps(resource.get("Metadata", {}).get("checkov", {}))
    }
    if check == "CKV_AWS_115":
        functions = prod.resources("AWS::Lambda::Function")
        reserving = {
            logical_id
            for logical_id, function in functions.items()
            if "ReservedConcurrentExecutions" in function["Properties"]
        }
        assert reserving and not reserving & skipped
        assert skipped == set(functions) - reserving
    else:
        assert skipped == set(prod.resources("AWS::SQS::Queue"))


def test_no_checkov_skip_is_stale(dev: Synthesis, prod: Synthesis) -> None:
    from redfire_infra.nag import CHECKOV_SKIPS

    applied = {
        skip["id"]
        for synthesis in (dev, prod)
        for resource in synthesis.template["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert applied == {skip.check for skip in CHECKOV_SKIPS}


def test_checkov_stays_out_of_the_project_lock() -> None:
    lock = (REPO_ROOT / "uv.lock").read_text()
    assert 'name = "checkov"' not in lock
    requirements = (REPO_ROOT / "devtools/scanners/checkov-requirements.txt").read_text()
    assert "checkov==3.3.30 \\\n    --hash=sha256:" in requirements
