"""What every benchmark shares: the result shape, the fake AWS environment, statistics.

Each benchmark module exposes ``run() -> Result`` and ends with ``run_cli(run)``, so
``python -m benchmarks.<name>`` runs it alone (printing its section of RESULTS.md) and
``python -m benchmarks.<name> --json FILE`` is how the runner collects it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parent.parent

Status = Literal["met", "missed", "info", "skipped", "error"]

# A Lambda-like environment that can never reach a real AWS account.
FAKE_AWS_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # botocore would address DynamoDB Streams by account id, which moto does not serve.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "REDFIRE_STAGE": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "RedFire",
    "POWERTOOLS_SERVICE_NAME": "redfire-bench",
}
# Variables that would point a client at a real account or another endpoint.
_DROPPED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")


def bench_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: this process's) with the fake AWS environment applied."""
    env = {
        name: value
        for name, value in (os.environ if base is None else base).items()
        if name not in _DROPPED and not name.startswith("AWS_ENDPOINT_URL_")
    }
    env.update(FAKE_AWS_ENV)
    return env


def apply_bench_environment() -> None:
    """Set the fake environment in this process; call before importing ``redfire_core``."""
    replaced = bench_environment()
    os.environ.clear()
    os.environ.update(replaced)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Result:
    """One benchmark's outcome, as the runner stores it and RESULTS.md shows it."""

    name: str
    title: str
    status: Status
    summary: str  # one line for the overview table
    target: str
    reference: str
    method: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    output_tail: list[str] = field(default_factory=list)  # of a benchmark that failed
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Result:
        tables = [Table(**t) for t in data.get("tables", [])]
        return cls(**{**data, "tables": tables})


def status_of(checks: Sequence[bool]) -> Status:
    return "met" if all(checks) else "missed"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> str:
    """Seconds as milliseconds for a table cell."""
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.2f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


def mark(met: bool) -> str:
    return "yes" if met else "**no**"
