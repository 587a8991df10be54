"""Entry point named in cdk.json: puts ``redfire_infra`` on the path and synthesizes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from redfire_infra.app import main  # noqa: E402

main()
