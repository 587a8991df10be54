"""The ``redfire`` command. Parsing first; each subcommand imports what it needs.

Subcommands: ``dev`` (the local cloud), ``token`` (a bearer token for it),
``schemas`` (event JSON Schemas), ``docs`` (the declaration's tables in the docs) and
``backtest`` (a strategy over bars).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

# Mirrors redfire_core.domain.roles.Role (a unit test keeps them equal) so --help stays fast.
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
    dev.add_argument(
        "--verbose",
        action="store_true",
        help="print the functions' raw JSON logs instead of one line per event (the default "
        "on a terminal; every log is kept in .redfire/logs/*.jsonl either way)",
    )

    token = commands.add_parser("token", help="print a bearer token for the local cloud")
    token.add_argument("--account", default=DEMO_ACCOUNT, help="account id (default: demo)")
    token.add_argument("--role", choices=ROLES, default="trader", help="default: trader")

    commands.add_parser("schemas", help="write the event JSON Schemas")
    docs = commands.add_parser(
        "docs", help="write the declaration's tables into docs/architecture.md and README.md"
    )
    docs.add_argument("--check", action="store_true", help="only report drift (exit 1)")
    commands.add_parser(
        "calendars", help="write the exchange session tables (from exchange-calendars)"
    )

    backtest = commands.add_parser(
        "backtest",
        help="backtest a strategy on a CSV file or the market data store "
        "(`redfire backtest sweep --help`: a parameter sweep on the service)",
        description="Run a strategy bar by bar and print its statistics (docs/backtesting.md). "
        "`redfire backtest sweep ...` runs a parameter grid as a sweep on the service.",
    )
    backtest.add_argument("--strategy", required=True, help="e.g. sma_cross, rsi_reversion")
    backtest.add_argument("--data", metavar="FILE.csv", help="OHLCV CSV, timestamp first")
    backtest.add_argument("--symbol", help="read bars of this symbol from the store")
    backtest.add_argument("--interval", help="bar interval in the store, e.g. 1m, 1d")
    backtest.add_argument("--start", help="first bar time (ISO 8601) from the store")
    backtest.add_argument("--end", help="end time (ISO 8601, exclusive) from the store")
    backtest.add_argument("--cash", default="10000", help="starting cash (default: 10000)")
    backtest.add_argument("--commission", default="0", help="rate of notional per fill")
    backtest.add_argument(
        "--slippage-bps", default="0", help="market and stop fills move this far (default: 0)"
    )
    backtest.add_argument(
        "--lot-size",
        default="1",
        help="the instrument's lot: sizes round down to multiples of it (default: 1)",
    )
    backtest.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="strategy parameter (repeat)"
    )
    backtest.add_argument(
        "--limit",
        action="append",
        metavar="KEY=VALUE",
        help="check orders against this risk limit (repeat), e.g. max_order_qty=100",
    )
    backtest.add_argument("--json", action="store_true", help="print one JSON object")
    backtest.add_argument("--plot", metavar="FILE.html", help="write an HTML chart")
    backtest.add_argument(
        "--debug", action="store_true", help="print the traceback when the strategy raises"
    )
    backtest.add_argument(
        "--results",
        metavar="DIR",
        help="write equity.json (per bar, with drawdown) and trades.json into DIR",
    )
    backtest.error = _one_line_error(backtest.prog)  # type: ignore[method-assign,assignment]

    commands.add_parser(
        "plugins",
        help="list installed strategy, provider and gateway plug-ins; exit 1 if one is refused",
    )
    admin = commands.add_parser("admin", help="bootstrap accounts and keys")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser(
        "create-account",
        help="create an account (or the platform operator) and its first API key",
        description="Without --stage it targets the local cloud (.redfire/dev.env); with "
        "--stage it uses your AWS credentials against that deployed stage.",
    )
    create.add_argument(
        "account", nargs="?", help="account id (default for --operator: platform-ops)"
    )
    create.add_argument("--operator", action="store_true", help="the platform's operator key")
    create.add_argument("--stage", help="a deployed stage (dev, staging, prod)")
    create.add_argument("--cash", default="100000", help="opening paper cash (default 100000)")
    create.add_argument(
        "--cash-account",
        action="store_true",
        help="a cash account: no margin, so it cannot sell short (default: margin, leverage 1)",
    )

    revoke = admin_commands.add_parser(
        "revoke-key",
        help="revoke any API key (operator keys too) with your AWS credentials",
        description="Without --stage it targets the local cloud (.redfire/dev.env); with "
        "--stage it uses your AWS credentials against that deployed stage. Audited.",
    )
    revoke.add_argument("key_id", help="the key's id (key_...)")
    revoke.add_argument("--stage", help="a deployed stage (dev, staging, prod)")
    revoke.add_argument("--reason", help="why, for the audit log")
    seed = admin_commands.add_parser(
        "seed-instruments",
        help="create the instruments a fresh stage trades (default: the demo instruments)",
        description="Existing instruments are kept as they are. Without --stage it targets "
        "the local cloud; with --stage it uses your AWS credentials and region.",
    )
    seed.add_argument("--stage", help="a deployed stage (dev, staging, prod)")
    seed.add_argument(
        "--file",
        type=Path,
        help="JSON list of instruments (symbol, asset_class, currency, tick_size, lot_size, "
        "min_quantity, price_precision, optional tradable and calendar)",
    )

    gateway = admin_commands.add_parser(
        "set-gateway",
        help="route an account's orders to paper, alpaca or ccxt:<exchange>",
        description="Credentials go to Secrets Manager and are checked by the venue "
        "function; the secret is read from REDFIRE_VENUE_SECRET or prompted for (never an "
        "argument: shell history keeps those). Without --stage it targets the local cloud.",
    )
    gateway.add_argument("account", help="account id")
    gateway.add_argument("gateway", help="paper, alpaca or ccxt:<exchange> (ccxt:binance)")
    gateway.add_argument("--mode", choices=("paper", "live"), default="paper")
    gateway.add_argument("--key-id", help="the venue's API key id")
    gateway.add_argument("--stage", help="a deployed stage (dev, staging, prod)")

    dlq = commands.add_parser("dlq", help="inspect and redrive dead-letter queues")
    dlq.add_argument("action", choices=("list", "show", "redrive"))
    dlq.add_argument("queue", nargs="?", help="a queue of the declaration, e.g. risk")
    dlq.add_argument("--limit", type=int, default=20, help="messages to show (default 20)")
    dlq.add_argument("--stage", help="a deployed stage; default: the local cloud")

    events = commands.add_parser("events", help="replay archived events onto the bus")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    replay = events_commands.add_parser("replay", help="replay [--from, --to) from the archive")
    replay.add_argument("--from", dest="start", required=True, help="ISO 8601 start (UTC)")
    replay.add_argument("--to", dest="end", required=True, help="ISO 8601 end (UTC)")
    replay.add_argument("--stage", help="a deployed stage; default: the local cloud")
    _add_data_commands(commands)
    return parser


def _add_data_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data = commands.add_parser("data", help="import, backfill and check market data")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    load = data_commands.add_parser("import", help="upload a CSV/Parquet file of bars")
    load.add_argument("file", type=Path)
    backfill = data_commands.add_parser("backfill", help="pull a range from a provider")
    backfill.add_argument("--provider", required=True, help="e.g. synthetic, binance")
    gaps = data_commands.add_parser("gaps", help="list missing ranges against the calendar")
    for sub in (load, backfill, gaps):
        sub.add_argument("--symbol", required=True)
        sub.add_argument("--interval", required=True, help="1m, 5m, 15m, 1h, 1d or 1w")
        sub.add_argument("--stage", help="a deployed stage; default: the local cloud")
    for sub in (backfill, gaps):
        sub.add_argument("--start", required=True, help="ISO 8601 (UTC)")
        sub.add_argument("--end", required=True, help="ISO 8601 (UTC), exclusive")
    for sub in (load, backfill):
        sub.add_argument("--timeout", type=float, default=300, help="seconds to wait")


def _data(args: argparse.Namespace) -> int:
    from redfire_cli import data_command

    if args.data_command == "import":
        return data_command.run_import(
            args.file, args.symbol, args.interval, args.stage, args.timeout
        )
    if args.data_command == "backfill":
        return data_command.run_backfill(
            args.provider,
            args.symbol,
            args.interval,
            args.start,
            args.end,
            args.stage,
            args.timeout,
        )
    return data_command.run_gaps(args.symbol, args.interval, args.start, args.end, args.stage)


def _one_line_error(prog: str) -> Callable[[str], NoReturn]:
    """Bad usage as one line on stderr and exit status 2 (no usage block)."""

    def error(message: str) -> NoReturn:
        sys.stderr.write(f"{prog}: error: {message}\n")
        sys.exit(2)

    return error


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:2] == ["backtest", "sweep"]:
        from redfire_cli.sweep_command import run as run_sweep

        return run_sweep(given[2:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # as parse_args would, but one line for the backtest command
        message = f"unrecognized arguments: {' '.join(extra)}"
        if args.command == "backtest":
            _one_line_error("redfire backtest")(message)
        parser.error(message)
    if args.command == "dev":
        from redfire_cli.dev_command import run_dev

        return run_dev(reset=args.reset, verbose=args.verbose)
    if args.command == "token":
        from redfire_cli.tokens import main as run_token

        return run_token(args.account, args.role)
    if args.command in ("dlq", "events"):
        return _operate(args)
    if args.command == "plugins":
        from redfire_cli.plugins_command import run_plugins

        return run_plugins()
    if args.command == "data":
        return _data(args)
    if args.command == "admin" and args.admin_command == "revoke-key":
        from redfire_cli.admin import revoke_key

        return revoke_key(args.key_id, stage=args.stage, reason=args.reason, workdir=Path.cwd())
    if args.command == "admin" and args.admin_command == "set-gateway":
        return _set_gateway(args)
    if args.command == "admin" and args.admin_command == "seed-instruments":
        from redfire_cli.admin import seed_instruments

        return seed_instruments(args.stage, args.file, Path.cwd())
    if args.command == "admin":
        from redfire_cli.admin import create_account

        return create_account(
            args.account,
            operator=args.operator,
            stage=args.stage,
            cash=args.cash,
            margin=not args.cash_account,
            workdir=Path.cwd(),
        )
    if args.command == "backtest":
        from redfire_cli.backtest_command import run as run_backtest

        return run_backtest(args)
    if args.command == "docs":
        from redfire_cli import docs_command

        return docs_command.main(check=args.check)
    if args.command == "calendars":
        from redfire_cli.calendars_command import run as run_calendars

        return run_calendars()
    from redfire_cli import schemas

    return schemas.main()


def _set_gateway(args: argparse.Namespace) -> int:
    from redfire_cli.admin import set_account_gateway

    secret = None
    if args.gateway != "paper":
        secret = os.environ.get("REDFIRE_VENUE_SECRET") or getpass.getpass("secret: ")
    return set_account_gateway(
        args.account,
        args.gateway,
        mode=args.mode,
        key_id=args.key_id,
        secret=secret,
        stage=args.stage,
        workdir=Path.cwd(),
    )


def _operate(args: argparse.Namespace) -> int:
    from redfire_cli import operations
    from redfire_cli.targets import select_target
    from redfire_core.resources import Declaration

    declaration = Declaration(select_target(args.stage, Path.cwd()))
    if args.command == "events":
        return operations.events_replay(declaration, args.start, args.end)
    if args.action == "list":
        return operations.dlq_list(declaration)
    if not args.queue:
        print("redfire: name the queue", file=sys.stderr)
        return 2
    if args.action == "show":
        return operations.dlq_show(declaration, args.queue, args.limit)
    return operations.dlq_redrive(declaration, args.queue)


if __name__ == "__main__":
    sys.exit(main())
