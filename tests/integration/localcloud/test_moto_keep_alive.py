"""The local moto server keeps a client's connection open between calls, as AWS does."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

from redfire_cli.localcloud.moto_server import LocalMoto


def test_consecutive_calls_share_one_connection(moto: LocalMoto) -> None:
    # Given one HTTP/1.1 connection to the local moto server
    connection = http.client.HTTPConnection("127.0.0.1", moto.port, timeout=5)

    # When two requests go over it, one after the other
    connection.request("GET", "/moto-api/data.json")
    first = connection.getresponse()
    first_body = first.read()
    socket_after_first = connection.sock
    connection.request("GET", "/moto-api/data.json")
    second = connection.getresponse()
    second_body = second.read()

    # Then both were answered whole, on the same socket (no "Connection: close")
    assert first.status == second.status == 200
    assert json.loads(first_body) == json.loads(second_body)
    assert first.getheader("Connection") is None
    assert socket_after_first is not None and connection.sock is socket_after_first
    connection.close()


def test_a_botocore_client_works_over_kept_connections(
    client: Callable[[str], Any],
) -> None:
    # Given one client making calls of every shape over its pooled connections
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="kept")["QueueUrl"]

    # When it sends, receives (an empty long poll too) and deletes
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
    )
    empty = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)

    # Then every answer was read correctly
    assert sorted(m["Body"] for m in got) == [f"m{n}" for n in range(5)]
    assert "Messages" not in empty
