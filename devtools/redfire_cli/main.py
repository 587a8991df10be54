"""The ``redfire`` command. Parsing first; each subcommand imports what it needs.

Subcommands: ``dev`` (the local cloud), ``token`` (a bearer token for it) and
``schemas`` (event JSON Schemas).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

# Mirrors redfire_core.auth.Role (a unit test keeps them equal) so --help stays fast.
ROLES = ("viewer", "trader", "admin", "operator")
DEMO_ACCOUNT = "demo"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redfire", description="RedFire developer tools")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser(
        "dev",
        help="run the local cloud (moto, API on 127.0.0.1, pollers, scheduler)",
        description="Run the whole system locally. Ports: REDFIRE_API_PORT (8000), "
        "REDFIRE_MOTO_PORT (4566), 0 = any free port; REDFIRE_FEED_SECONDS (5) sets the "
        "demo feed period. Tables are saved to .redfire/state.json on Ctrl-C.",
    )
    dev.add_argument("--reset", action="store_true", help="forget the saved state first")

    token = commands.add_parser("token", help="print a bearer token for the local cloud")
    token.add_argument("--account", default=DEMO_ACCOUNT, help="account id (default: demo)")
    token.add_argument("--role", choices=ROLES, default="trader", help="default: trader")

    commands.add_parser("schemas", help="write the event JSON Schemas")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "dev":
        from redfire_cli.dev_command import run_dev

        return run_dev(reset=args.reset)
    if args.command == "token":
        from redfire_cli.tokens import main as run_token

        return run_token(args.account, args.role)
    from redfire_cli import schemas

    return schemas.main()


if __name__ == "__main__":
    sys.exit(main())
