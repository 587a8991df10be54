"""The OpenAPI document shows ``Prefer: wait=N`` on ``POST /v1/orders`` and the
``Preference-Applied`` answer header."""

from __future__ import annotations

from redfire_api.app import create_app


def test_placing_an_order_documents_the_wait_preference_and_its_answer_header() -> None:
    operation = create_app().openapi()["paths"]["/v1/orders"]["post"]
    prefer = [p for p in operation["parameters"] if p["name"].lower() == "prefer"]
    assert len(prefer) == 1 and prefer[0]["in"] == "header" and not prefer[0]["required"]
    assert "wait=N" in prefer[0]["description"] and "at most 2" in prefer[0]["description"]
    for status in ("200", "201"):
        assert "Preference-Applied" in operation["responses"][status]["headers"]
