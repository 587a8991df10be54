"""``redfire dev``: run the local cloud in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType

from redfire_cli.localcloud.dev_console import DevConsole, DevConsoleHandler
from redfire_cli.localcloud.runner import DevOptions, LocalCloud, StartupError

logger = logging.getLogger("redfire.localcloud")


def configure_logging(console: DevConsole | None = None) -> None:
    """Our lines at INFO on stderr (through the dev console when it is readable); libraries
    only from WARNING (botocore is chatty)."""
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if console is not None:
        root = logging.getLogger()
        root.handlers[:] = [DevConsoleHandler(console)]
    logging.getLogger("redfire.localcloud").setLevel(logging.INFO)
    # Handlers share clients across concurrent requests here (never under Lambda), so
    # urllib3 warns that their pools overflow; harmless locally.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # Powertools warns on every invocation that publishes no metric: noise in one process.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def readable(verbose: bool) -> bool:
    """One line per event on a terminal; raw JSON with --verbose, or when the output is a
    file (scripts and the benchmarks read the JSON), unless REDFIRE_DEV_CONSOLE says."""
    choice = os.environ.get("REDFIRE_DEV_CONSOLE", "")
    if verbose or choice == "raw":
        return False
    return choice == "human" or sys.stdout.isatty()


def run_dev(reset: bool, workdir: Path | None = None, verbose: bool = False) -> int:
    workdir = workdir or Path.cwd()
    human = readable(verbose)
    console = DevConsole(workdir, verbose=not human).start()
    configure_logging(console if human else None)
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping (%s)", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    cloud = LocalCloud(DevOptions.from_environment(workdir, reset))
    try:
        cloud.start()
    except StartupError as error:
        print(f"redfire dev: {error}", file=sys.stderr)
        cloud.stop()
        console.stop()
        return 1
    except BaseException:
        cloud.stop()
        console.stop()
        raise
    console.raw(cloud.ready_line)
    if human:
        console.banner(cloud.ready_urls)
    while not stop_requested.wait(0.5):
        pass
    cloud.stop()
    logger.info("stopped")
    console.stop()
    return 0
