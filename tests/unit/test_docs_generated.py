"""docs/architecture.md and the README restate the declaration only through `redfire docs`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from redfire_cli import docs_command
from redfire_core import resources


def test_the_docs_say_what_the_declaration_says() -> None:
    assert docs_command.drifted() == {}, "run `redfire docs` and commit what it writes"


def test_a_changed_declaration_is_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = dict(resources.TABLES)
    tables["orders"] = replace(tables["orders"], ttl_attribute="purge_at")
    monkeypatch.setattr(resources, "TABLES", tables)

    drift = docs_command.drifted()

    assert list(drift) == [docs_command.ARCHITECTURE]
    assert "`purge_at`" in drift[docs_command.ARCHITECTURE]


def test_every_function_and_queue_is_in_the_readme_diagram() -> None:
    diagram = docs_command.diagram_section()

    missing = [
        name
        for name in [*resources.FUNCTIONS, *(f"SQS {q}" for q in resources.QUEUES)]
        if f" {name}" not in diagram
    ]

    assert missing == []


def test_the_text_around_a_generated_section_survives() -> None:
    begin = docs_command.BEGIN.format(name="rules")
    end = docs_command.END.format(name="rules")
    text = f"# Hand-written\n\n{begin}\nstale\n{end}\n\nMore prose.\n"

    out = docs_command.rendered(text, {"rules": docs_command.rules_section})

    assert out.startswith("# Hand-written\n\n")
    assert out.endswith(f"{end}\n\nMore prose.\n")
    assert "stale" not in out and "`to-risk`" in out


def test_a_file_without_the_markers_is_refused() -> None:
    with pytest.raises(docs_command.DocsError):
        docs_command.rendered("no markers here\n", {"rules": docs_command.rules_section})
