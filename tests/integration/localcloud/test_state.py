"""Tables and the JWT secret survive a restart of the local cloud through state.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redfire_cli.localcloud import state
from redfire_cli.localcloud.provision import Provisioner
from redfire_core.resources import ACCOUNTS, ORDERS, Declaration

DECLARATION = Declaration("itest", tables={t.logical: t for t in (ORDERS, ACCOUNTS)})
ITEM = {
    "pk": {"S": "demo"},
    "sk": {"S": "ORDER#1"},
    "quantity": {"N": "10.5"},
    "open": {"BOOL": True},
    "reason": {"NULL": True},
    "blob": {"B": b"\x00\xffbinary"},
    "blobs": {"BS": [b"\x01", b"\x02"]},
    "tags": {"SS": ["a", "b"]},
    "nested": {"M": {"list": {"L": [{"N": "1"}, {"B": b"\x03"}, {"M": {"s": {"S": "x"}}}]}}},
}


def create_tables(moto: Any) -> None:
    provisioner = Provisioner(DECLARATION, moto.endpoint_url)
    for table in DECLARATION.tables.values():
        provisioner.create_table(table)


def test_saved_items_and_secret_come_back_after_a_restart(
    client: Any, moto: Any, tmp_path: Path
) -> None:
    # Given tables holding items of every attribute type
    create_tables(moto)
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=DECLARATION.name("orders"), Item=ITEM)
    for n in range(30):  # more than one batch write
        dynamodb.put_item(
            TableName=DECLARATION.name("accounts"),
            Item={"pk": {"S": f"acct-{n}"}, "sk": {"S": "ACCOUNT"}},
        )

    # When the state is saved, moto is emptied, the tables re-created and the state restored
    path = tmp_path / ".redfire" / "state.json"
    state.save(path, state.capture(DECLARATION, dynamodb, jwt_secret="s" * 64))
    moto_reset(moto)
    create_tables(moto)
    loaded = state.load(path)
    restored = state.restore(DECLARATION, dynamodb, loaded)

    # Then every item is back, typed as before, and so is the secret
    assert restored == 31 and loaded.jwt_secret == "s" * 64
    back = dynamodb.get_item(
        TableName=DECLARATION.name("orders"), Key={k: ITEM[k] for k in ("pk", "sk")}
    )
    assert normalised(back["Item"]) == normalised(ITEM)
    count = dynamodb.scan(TableName=DECLARATION.name("accounts"), Select="COUNT")["Count"]
    assert count == 30


def test_no_saved_state_means_an_empty_start(tmp_path: Path) -> None:
    # Given no state file, when it is loaded, then there is nothing to restore
    loaded = state.load(tmp_path / "state.json")
    assert loaded.jwt_secret is None and loaded.tables == {}


def moto_reset(moto: Any) -> None:
    import httpx

    httpx.post(f"{moto.endpoint_url}/moto-api/reset").raise_for_status()


def normalised(item: dict[str, Any]) -> dict[str, Any]:
    """Sets come back in any order."""

    def value(v: dict[str, Any]) -> Any:
        ((kind, inner),) = v.items()
        if kind in ("SS", "BS", "NS"):
            return kind, sorted(inner)
        if kind == "M":
            return kind, normalised(inner)
        if kind == "L":
            return kind, [value(x) for x in inner]
        return kind, inner

    return {k: value(v) for k, v in item.items()}
