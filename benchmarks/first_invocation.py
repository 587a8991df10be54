"""One cold start in this fresh interpreter: import a handler module, then invoke it once.

``python -m benchmarks.first_invocation MODULE.ATTR EVENT_FILE`` prints one JSON line:
seconds spent importing, seconds of the first invocation, and what it answered. Every AWS
call is answered by botocore's ``Stubber`` (attached to each client as botocore creates
it), so no network is timed. Only the standard library is loaded before the clock starts:
the hook waits for the handler's own import of ``botocore.session``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

# The JWT secret the stubbed Secrets Manager hands out (the API's token is signed with it).
SECRET = "cold-start-benchmark-secret-with-enough-bytes-for-hs256"


def canned(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """A well-formed, empty-handed answer: nothing stored, every write accepted."""
    if operation == "GetSecretValue":
        return {"SecretString": SECRET, "Name": str(params.get("SecretId", ""))}
    if operation == "UpdateItem":  # the rate limiter reads the new count
        return {"Attributes": {"id": {"S": "x"}, "hits": {"N": "1"}}}
    if operation in ("Query", "Scan"):
        return {"Items": [], "Count": 0, "ScannedCount": 0}
    if operation == "BatchWriteItem":
        return {"UnprocessedItems": {}}
    if operation == "BatchGetItem":
        return {"Responses": {}, "UnprocessedKeys": {}}
    if operation == "PutEvents":
        entries = params.get("Entries", [])
        return {
            "FailedEntryCount": 0,
            "Entries": [{"EventId": str(i)} for i in range(len(entries))],
        }
    if operation == "SendMessageBatch":
        return {"Successful": [{"Id": e["Id"]} for e in params.get("Entries", [])], "Failed": []}
    return {}


def _answer_every_client(session_module: Any) -> None:
    from botocore.awsrequest import AWSResponse
    from botocore.stub import Stubber

    class Answering(Stubber):
        """A Stubber that answers whatever is asked with ``canned`` instead of a queue."""

        calls: list[str]

        def _assert_expected_params(self, model: Any, params: Any, context: Any, **_: Any) -> None:
            return None

        def _get_response_handler(self, model: Any, params: Any, context: Any, **_: Any) -> Any:
            self.calls.append(model.name)
            return AWSResponse(None, 200, {}, None), canned(model.name, params)  # type: ignore[arg-type]  # botocore's stubs want a URL and headers the stub never reads

    create_client = session_module.Session.create_client

    def stubbed(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        stubber = Answering(client)
        stubber.calls = CALLS
        stubber.activate()
        return client

    session_module.Session.create_client = stubbed


CALLS: list[str] = []


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``_answer_every_client`` right after botocore.session is first imported."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if name != "botocore.session":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _answer_every_client(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


class Context:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name = "redfire-bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:redfire-bench"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def answered(response: Any) -> str:
    if isinstance(response, dict) and "statusCode" in response:
        return str(response["statusCode"])
    if isinstance(response, dict) and "batchItemFailures" in response:
        return f"{len(response['batchItemFailures'])} batch item failure(s)"
    return type(response).__name__


def main(target: str, event_file: str) -> None:
    module_name, _, attribute = target.rpartition(".")
    with open(event_file) as file:
        event = json.load(file)
    context = Context()
    sys.meta_path.insert(0, _AfterImport())
    start = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attribute)
    imported = time.perf_counter()
    try:
        outcome = answered(handler(event, context))
    except Exception as error:  # reported, not hidden: the figure says what the call did
        outcome = f"raised {type(error).__name__}"
    done = time.perf_counter()
    sys.stdout.flush()
    print(
        "\n"
        + json.dumps(
            {
                "import": imported - start,
                "first": done - imported,
                "outcome": outcome,
                "calls": CALLS,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
