"""Rendering results as Markdown: one section per benchmark, and the whole RESULTS.md."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from benchmarks.common import Result, Table

STATUS_LABEL = {
    "met": "target met",
    "missed": "**target missed**",
    "info": "informational",
    "skipped": "skipped",
    "error": "**error**",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(table: Table) -> str:
    lines = [
        f"**{table.title}**",
        "",
        "| " + " | ".join(_cell(c) for c in table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def render_result(result: Result) -> str:
    parts = [
        f"## {result.title}\n",
        f"- **Status:** {STATUS_LABEL[result.status]} - {result.summary}",
        f"- **Target:** {result.target}",
        f"- **Reference:** {result.reference}",
    ]
    if result.seconds:
        parts.append(f"- **Run time:** {result.seconds:.0f} s")
    if result.method:
        parts.append("\n**Method.**\n")
        parts += [f"- {line}" for line in result.method]
    parts.append("")
    parts += [render_table(table) for table in result.tables]
    if result.notes:
        parts.append("**Notes.**\n")
        parts += [f"- {note}" for note in result.notes]
        parts.append("")
    if result.output_tail:
        parts += ["Last lines of its output:\n", "```", *result.output_tail, "```", ""]
    return "\n".join(parts) + "\n"


def render_results(
    results: Sequence[Result], machine: Mapping[str, str], total_seconds: float
) -> str:
    """The whole RESULTS.md."""
    header = [
        "# RedFire benchmark results\n",
        "Written by `make bench` (`.venv/bin/python -m benchmarks`); do not edit by hand. "
        "Every figure was measured in this run, next to a reference measured in the same "
        "run; nothing here is asserted by a test.\n",
        "| | |",
        "|---|---|",
        *[f"| {_cell(k)} | {_cell(v)} |" for k, v in machine.items()],
        f"| whole run | {total_seconds:.0f} s |",
        "",
        "## Summary\n",
        "| benchmark | status | figures | run time |",
        "|---|---|---|---|",
        *[
            f"| [{r.title}](#{_anchor(r.title)}) | {STATUS_LABEL[r.status]} | "
            f"{_cell(r.summary)} | {r.seconds:.0f} s |"
            for r in results
        ],
        "",
    ]
    return "\n".join(header) + "\n" + "".join(render_result(r) for r in results)


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def run_cli(run: Callable[[], Result]) -> None:
    """Entry point of a benchmark module run on its own (``python -m benchmarks.<name>``)."""
    parser = argparse.ArgumentParser(description=(run.__module__ or "").strip())
    parser.add_argument("--json", type=Path, help="write the result here instead of printing it")
    args = parser.parse_args()
    result = run()
    if args.json:
        args.json.write_text(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(render_result(result))
