"""Each function runs with only the layers it declares (``resources.FUNCTIONS[...].layers``).

The layers' locked distributions are installed for this host (the aarch64 build cannot run
here) into one folder per layer (cached under ``.build/``), and every handler is loaded in
``python -I -S`` (no site-packages, no PYTHON* variables) with only its code, its layers and
what the Lambda runtime provides on ``sys.path``: the handler module, every module of its
package and of ``redfire_core`` are imported, the API answers a request on every route, and
ingest reads a Parquet file. A module needing a distribution its function's layers lack fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from redfire_core.resources import CORE_LAYER, FUNCTIONS, LAYERS
from redfire_infra.layer_contents import (
    PROVIDED_BY_RUNTIME,
    LockedPackages,
    Target,
    installed_layers,
    installed_runtime,
    layer_distributions,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_SOURCES = REPO_ROOT / "layers" / "redfire_core"

pytestmark = pytest.mark.slow  # first run installs ~160 MB of wheels (later runs: cached)

# Runs in the isolated interpreter: argv[1] is a JSON object (path, handler, package, probes).
_PROBE = textwrap.dedent(
    """
    import importlib, json, os, pkgutil, sys
    spec = json.loads(sys.argv[1])
    sys.path[1:1] = spec["path"]
    module_name, _, attribute = spec["handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    for package in (spec["package"], "redfire_core"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            importlib.import_module(info.name)
    import jwt.algorithms
    outcome = {"modules": sorted({m.split(".")[0] for m in sys.modules})}
    outcome["rs256"] = jwt.algorithms.has_crypto  # PyJWT verifies RS256 only with cryptography
    if spec["probe"] == "routes":
        app = importlib.import_module("redfire_api.handler").app
        statuses = {}
        for route_path, operations in app.openapi()["paths"].items():
            for method in sorted(m.upper() for m in operations):
                path = route_path.replace("{", "").replace("}", "")
                event = {
                    "version": "2.0", "routeKey": "$default", "rawPath": path,
                    "rawQueryString": "", "headers": {"content-type": "application/json"},
                    "body": "{}", "isBase64Encoded": False,
                    "requestContext": {
                        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                 "sourceIp": "127.0.0.1", "userAgent": "test"},
                        "requestId": "r", "stage": "$default", "routeKey": "$default",
                        "accountId": "123456789012", "apiId": "api", "domainName": "x",
                        "domainPrefix": "x", "time": "", "timeEpoch": 0,
                    },
                }
                class Context:
                    function_name = "api"; memory_limit_in_mb = 1024
                    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
                    aws_request_id = "r"
                statuses[method + " " + route_path] = handler(event, Context())["statusCode"]
        outcome["statuses"] = statuses
    if spec["probe"] != "routes":
        # A one-message batch whose body is no event runs the handler's wrappers (env check,
        # logging, metrics, tracing, batch processing) and its parsing up to the refusal,
        # all before any AWS call: a refusal is fine, a missing module is not.
        class Context:
            function_name = "f"; memory_limit_in_mb = 512; aws_request_id = "r"
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
        try:
            record = {
                "messageId": "m1", "receiptHandle": "h", "body": "{}", "attributes": {},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
            }
            outcome["answer"] = handler({"Records": [record]}, Context())
            outcome["batch"] = "answered"
        except ImportError:
            raise
        except Exception as error:
            # The batch processor catches each record's error: an ImportError hides there.
            children = getattr(error, "child_exceptions", None) or []
            outcome["batch"] = [type(error).__name__] + [c[1].__class__.__name__ for c in children]
    if spec["probe"] == "parquet":
        import io
        import pyarrow, pyarrow.parquet
        from redfire_core.providers.files import read_file
        table = pyarrow.table({
            "timestamp": ["2026-01-02T00:00:00Z"], "open": [1.0], "high": [2.0],
            "low": [0.5], "close": [1.5], "volume": [10.0],
        })
        sink = io.BytesIO()
        pyarrow.parquet.write_table(table, sink)
        outcome["bars"] = len(list(read_file(sink.getvalue(), "bars.parquet", "BTCUSDT", "1m")))
    print(json.dumps(outcome))
    """
)

_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: no request leaves the host
    "REDFIRE_STAGE": "test",
    "POWERTOOLS_SERVICE_NAME": "layers-test",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "RedFire",
    "REDFIRE_JWT_SECRET": "layer-test-secret-layer-test-secret",
}


@pytest.fixture(scope="module")
def host_layers() -> dict[str, Path]:
    return installed_layers(Target.host())


@pytest.fixture(scope="module")
def runtime() -> Path:
    return installed_runtime(Target.host())


def _run(
    function: str, layers: tuple[str, ...], host_layers: dict[str, Path], runtime: Path
) -> subprocess.CompletedProcess[str]:
    spec = FUNCTIONS[function]
    path = [str(REPO_ROOT / spec.asset)]
    for layer in layers:
        path.append(str(host_layers[layer]))
        if layer == CORE_LAYER:
            path.append(str(CORE_SOURCES))
    path.append(str(runtime))
    probe = "routes" if function == "api" else "parquet" if "parquet" in layers else "events"
    argument = {
        "path": path,
        "handler": spec.handler,
        "package": spec.handler.split(".")[0],
        "probe": probe,
    }
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", _PROBE, json.dumps(argument)],
        capture_output=True,
        text=True,
        env=_ENVIRONMENT,
        timeout=120,
        check=False,
    )


def test_every_runtime_dependency_is_in_a_layer_and_no_function_gets_one_twice() -> None:
    locked = LockedPackages.load()
    contents = layer_distributions(locked)
    placed = {name for names in contents.values() for name in names}
    assert placed | PROVIDED_BY_RUNTIME >= locked.runtime_dependencies()
    assert set(LAYERS) == set(contents)
    # Layers no function combines may hold the same distribution (requests in both venue
    # layers, cryptography in rs256 and venue-ccxt); a function never gets one twice.
    for name, spec in FUNCTIONS.items():
        shipped = [dist for layer in spec.layers for dist in contents[layer]]
        assert len(shipped) == len(set(shipped)), f"{name} gets a distribution twice"


def test_heavy_distributions_stay_out_of_the_core_layer() -> None:
    contents = layer_distributions()
    assert {"pyarrow", "cryptography", "fastapi", "strawberry-graphql", "mangum"}.isdisjoint(
        contents[CORE_LAYER]
    )
    assert "pyarrow" in contents["parquet"]
    assert {"fastapi", "starlette", "mangum", "strawberry-graphql"} <= contents["web"]
    assert "cryptography" in contents["rs256"]


def test_only_the_functions_that_need_them_get_the_heavy_layers() -> None:
    with_layer = {
        layer: {name for name, spec in FUNCTIONS.items() if layer in spec.layers}
        for layer in LAYERS
    }
    assert with_layer[CORE_LAYER] == set(FUNCTIONS)
    assert with_layer["web"] == {"api"}
    assert with_layer["rs256"] == {"api", "ws"}  # the functions that verify tokens
    assert with_layer["parquet"] == {"ingest"}
    assert with_layer["venue-alpaca"] == {"venue-alpaca"}  # alpaca-py, pandas, numpy
    assert with_layer["venue-ccxt"] == {"venue-ccxt"}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_handler_runs_with_only_its_declared_layers(
    function: str, host_layers: dict[str, Path], runtime: Path
) -> None:
    layers = FUNCTIONS[function].layers
    result = _run(function, layers, host_layers, runtime)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    loaded = set(outcome["modules"])
    if "parquet" not in layers:
        assert "pyarrow" not in loaded
    # PyJWT verifies RS256 wherever cryptography is (rs256; venue-ccxt needs it for ccxt).
    with_cryptography = any("cryptography" in layer_distributions()[layer] for layer in layers)
    assert outcome["rs256"] is with_cryptography
    if "web" not in layers:
        assert {"fastapi", "starlette", "strawberry", "mangum"}.isdisjoint(loaded)
    if function == "api":
        statuses = outcome["statuses"]
        assert len(statuses) > 20
        errors = {route: status for route, status in statuses.items() if status >= 500}
        assert not errors, errors
    if "parquet" in layers:
        assert outcome["bars"] == 1
    if function != "api":  # the one-message batch reached the handler and was refused
        refusal = outcome["batch"]
        assert refusal == "answered" or not {"ImportError", "ModuleNotFoundError"} & set(refusal), (
            refusal
        )


def test_the_isolation_is_real_a_handler_without_its_layer_fails(
    host_layers: dict[str, Path], runtime: Path
) -> None:
    # The API without the web layer cannot import FastAPI: only declared folders are visible.
    result = _run("api", (CORE_LAYER, "rs256"), host_layers, runtime)
    assert result.returncode != 0
    assert "No module named" in result.stderr
