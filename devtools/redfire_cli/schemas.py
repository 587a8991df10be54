"""Event JSON Schemas: written to ``events/`` from the pydantic models in ``redfire_core.events``.

The files are checked in so consumers outside Python can validate events; a contract
test regenerates them and fails when they drift (``make schemas`` rewrites them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL = "https://redfire.dev/events/"
ENVELOPE = "envelope"


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name -> schema document, for the envelope and every payload type."""
    from redfire_core.events import envelope_schema, payload_schemas

    named = {ENVELOPE: envelope_schema(), **payload_schemas()}
    documents = {}
    for name, schema in named.items():
        filename = f"{name}.schema.json"
        documents[filename] = {
            "$schema": SCHEMA_DIALECT,
            "$id": f"{SCHEMA_BASE_URL}{filename}",
            **schema,
        }
    return documents


def render(document: dict[str, Any]) -> str:
    """Stable text: indented, keys sorted, one trailing newline (diffs stay readable)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(root: Path) -> list[Path]:
    """Write every schema into ``root/events``; the paths written, in a stable order."""
    folder = root / "events"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, document in sorted(schema_documents().items()):
        path = folder / filename
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written


def repository_root(start: Path | None = None) -> Path:
    """The folder holding ``pyproject.toml`` and ``events/``: from the working directory up,
    else the checkout this package lives in."""
    here = (start or Path.cwd()).resolve()
    package_checkout = Path(__file__).resolve().parents[2]
    for candidate in (here, *here.parents, package_checkout):
        if (candidate / "pyproject.toml").is_file() and (candidate / "events").is_dir():
            return candidate
    raise FileNotFoundError("no RedFire checkout (pyproject.toml with events/) found")


def main() -> int:
    root = repository_root()
    for path in write_schemas(root):
        print(path.relative_to(root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
