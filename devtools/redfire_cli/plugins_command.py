"""``redfire plugins``: every installed strategy, provider and gateway plug-in, and whether
RedFire will use it. A plug-in named like a bundled strategy or a built-in provider, or one
that fails to load, is listed as refused with the reason, and the command exits 1: the error
shows up here rather than as the built-in one quietly answering to its name."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from redfire_core import gateways, providers
from redfire_core.strategies import catalog


def plugin_rows() -> list[dict[str, str]]:
    """One row per plug-in: group, name, distribution, version, status (``ok`` or why not)."""
    strategies, refused = catalog()
    rows = [
        _row("strategy", item["name"], item["distribution"], item["version"], "ok")
        for item in strategies
        if item["distribution"] != "redfire"
    ]
    rows += [
        _row("strategy", r["name"], r["distribution"], "", f"refused: {r['reason']}")
        for r in refused
    ]
    taken = {r["name"]: r for r in providers.refused_providers()}
    for ep in entry_points(group=providers.ENTRY_POINT_GROUP):
        if providers.BUILT_IN.get(ep.name) == ep.value:
            continue  # RedFire's own registration of a built-in provider
        status = f"refused: {taken[ep.name]['reason']}" if ep.name in taken else _loads(ep)
        rows.append(_row("provider", ep.name, *_distribution(ep), status))
    for ep in entry_points(group=gateways.ENTRY_POINT_GROUP):
        if ep.name == gateways.DEFAULT_GATEWAY:
            continue
        rows.append(_row("gateway", ep.name, *_distribution(ep), _loads(ep)))
    return rows


def run_plugins() -> int:
    rows = plugin_rows()
    if not rows:
        print("no plug-ins installed (entry points redfire.strategies, .providers, .gateways)")
        return 0
    print(f"{'group':<9} {'name':<20} {'distribution':<24} {'version':<10} status")
    for row in rows:
        print(
            f"{row['group']:<9} {row['name']:<20} {row['distribution']:<24} "
            f"{row['version']:<10} {row['status']}"
        )
    return 1 if any(row["status"] != "ok" for row in rows) else 0


def _row(group: str, name: str, distribution: str, version: str, status: str) -> dict[str, str]:
    return {
        "group": group,
        "name": name,
        "distribution": distribution,
        "version": version,
        "status": status,
    }


def _distribution(ep: Any) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    return (dist.name, dist.version) if dist else (ep.value, "")


def _loads(ep: Any) -> str:
    try:
        ep.load()
    except (ImportError, AttributeError) as error:
        return f"refused: does not load: {type(error).__name__}: {error}"
    return "ok"
