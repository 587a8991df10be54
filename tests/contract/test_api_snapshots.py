"""openapi.json and the GraphQL SDL stay byte-identical to their committed snapshots.

The snapshots were taken from main before issue 18 reshaped the views (one view model per
resource, GraphQL types derived from it): reshaping must not change what clients see.
Regenerate them only for a deliberate API change, named in its commit:
``python -m tests.contract.test_api_snapshots``.
"""

from __future__ import annotations

import json
from pathlib import Path

from redfire_api import graphql_schema
from redfire_api.app import create_app

SNAPSHOTS = Path(__file__).parents[1] / "fixtures" / "api"


def openapi_text() -> str:
    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


def sdl_text() -> str:
    return graphql_schema.schema.as_str() + "\n"


def test_openapi_document_matches_its_snapshot() -> None:
    # Given the app as built now, then its OpenAPI document is the committed one
    assert openapi_text() == (SNAPSHOTS / "openapi.json").read_text()


def test_graphql_sdl_matches_its_snapshot() -> None:
    # Given the Strawberry schema as built now, then its SDL is the committed one
    assert sdl_text() == (SNAPSHOTS / "schema.graphql").read_text()


if __name__ == "__main__":
    (SNAPSHOTS / "openapi.json").write_text(openapi_text())
    (SNAPSHOTS / "schema.graphql").write_text(sdl_text())
