"""``redfire dev``: run the local cloud in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType

from redfire_cli.localcloud.runner import DevOptions, LocalCloud, StartupError

logger = logging.getLogger("redfire.localcloud")


def configure_logging() -> None:
    """Our lines at INFO on stderr; libraries only from WARNING (botocore is chatty)."""
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("redfire.localcloud").setLevel(logging.INFO)
    # Handlers share clients across concurrent requests here (never under Lambda), so
    # urllib3 warns that their pools overflow; harmless locally.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # Powertools warns on every invocation that publishes no metric: noise in one process.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def run_dev(reset: bool, workdir: Path | None = None) -> int:
    configure_logging()
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping (%s)", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    cloud = LocalCloud(DevOptions.from_environment(workdir or Path.cwd(), reset))
    try:
        cloud.start()
    except StartupError as error:
        print(f"redfire dev: {error}", file=sys.stderr)
        cloud.stop()
        return 1
    except BaseException:
        cloud.stop()
        raise
    print(cloud.ready_line, flush=True)
    while not stop_requested.wait(0.5):
        pass
    cloud.stop()
    logger.info("stopped")
    return 0
