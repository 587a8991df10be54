"""The reference: a bare FastAPI app with one route, behind Mangum, as a Lambda handler.

The least a FastAPI-on-Lambda function can cost: the same framework, adapter and event
shape as ``redfire_api.handler`` with none of RedFire (no auth, no storage, no
Powertools). Benchmarks import it as a module (cold import) and call ``handler``
(warm latency), so it must stay this small.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/v1/orders/{order_id}")
def get_order(order_id: str) -> dict[str, str]:
    return {"id": order_id, "status": "filled"}


_mangum = Mangum(app, lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _mangum(event, context)
