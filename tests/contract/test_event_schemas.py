"""The event JSON Schemas in events/ are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from redfire_cli import schemas
from redfire_core.events import PAYLOADS

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
STALE = "the event schemas in events/ are out of date with redfire_core.events: run `make schemas`"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """File name -> text of freshly generated schemas (written to a scratch checkout)."""
    root = tmp_path_factory.mktemp("checkout")
    return {path.name: path.read_text(encoding="utf-8") for path in schemas.write_schemas(root)}


def _checked_in() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(EVENTS.glob("*.schema.json"))}


def test_there_is_one_schema_for_the_envelope_and_one_per_payload_type(
    generated: dict[str, str],
) -> None:
    # Given the generated schemas, then they cover the envelope and every payload type
    expected = {"envelope.schema.json"} | {f"{name}.schema.json" for name in PAYLOADS}
    assert set(generated) == expected


def test_the_checked_in_schemas_are_the_generated_ones(generated: dict[str, str]) -> None:
    # Given the schemas in events/ and freshly generated ones, then they are byte-identical
    checked_in = _checked_in()
    assert set(checked_in) == set(generated), STALE
    for name, text in generated.items():
        assert checked_in[name] == text, f"{name}: {STALE}"


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.schema.json")))
def test_each_schema_is_a_valid_draft_2020_12_schema_with_its_own_id(name: str) -> None:
    # Given a checked-in schema, then it is valid 2020-12 and says where it lives
    schema: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://redfire.dev/events/{name}"


def test_the_schema_files_are_stable_sorted_json_with_a_trailing_newline(
    generated: dict[str, str],
) -> None:
    # Given a generated schema, then re-rendering its content gives the same text
    for text in generated.values():
        assert text.endswith("}\n") and not text.endswith("\n\n")
        rendered = json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)
        assert rendered + "\n" == text


def _types(node: object) -> set[str]:
    """Every "type" named anywhere in a schema."""
    if isinstance(node, dict):
        found = {node["type"]} if isinstance(node.get("type"), str) else set()
        return found.union(*(_types(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_types(item) for item in node))
    return set()


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_schemas_carry_decimals_as_strings_never_numbers(name: str) -> None:
    # Given a payload schema, then no field is a JSON number (decimals travel as strings)
    schema = json.loads((EVENTS / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert "number" not in _types(schema)


def test_main_writes_into_the_checkout_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a checkout (pyproject.toml and events/) as the working directory
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    (tmp_path / "events").mkdir()
    monkeypatch.chdir(tmp_path / "events")

    # When the schemas command runs
    status = schemas.main()

    # Then it writes there, says what it wrote, and succeeds
    written = sorted(p.name for p in (tmp_path / "events").glob("*.schema.json"))
    assert status == 0
    assert len(written) == len(PAYLOADS) + 1
    assert sorted(Path(line).name for line in capsys.readouterr().out.split()) == written
