"""One local cloud for the e2e session, reached over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, start_local_cloud


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloudProcess]:
    cloud = start_local_cloud(tmp_path_factory.mktemp("local-cloud"))
    print(f"\nredfire dev ready in {cloud.ready_seconds:.1f} s")
    yield cloud
    assert cloud.stop() == 0, cloud.log()


@pytest.fixture
def api(local_cloud: LocalCloudProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_cloud.api_url, timeout=10) as client:
        yield client
