"""RedFire's benchmarks: measured figures, each against a reference taken in the same run.

``python -m benchmarks`` (``make bench``) runs every benchmark, each in its own process
with a time budget, and writes ``benchmarks/RESULTS.md``. One module per benchmark:

* ``cold_import``  - import time of each handler module vs. a bare FastAPI + Mangum app
* ``warm_latency`` - warm ``GET /v1/orders/{id}`` through Mangum on moto vs. the bare app
* ``asset_size``   - function assets and the layer vs. the Lambda size limits
* ``local_cloud``  - submit-to-filled latency and throughput on ``redfire dev``
* ``aws_calls``    - AWS calls per order on moto, priced per million orders

Nothing here asserts a figure in a test: the tests stay fast and deterministic, and
the figures live in RESULTS.md with the target and whether the run met it.
"""
