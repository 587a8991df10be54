"""Which code a strategy run used: the distribution that shipped the strategy (name and
version), a digest of every source file of the package it was imported from, and
RedFire's own version and digest (the engine, the indicators). The reproducibility hash
covers all of it, so a constant moved to a helper module changes the hash.

The identity is taken when the strategy is first resolved in a process (what that
process loaded); ``check_loaded`` compares it with the files on disk now, so a long-lived
worker (the local cloud) refuses to serve results for code it did not load."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redfire_core.strategies.base import StrategyError

if TYPE_CHECKING:
    from redfire_core.strategies.base import Strategy

REDFIRE_DISTRIBUTION = "redfire"
SOURCE_SUFFIXES = (".py",)


@dataclass(frozen=True)
class CodeIdentity:
    distribution: str  # who shipped the strategy ("redfire" for the bundled ones)
    version: str
    root: str  # the package directory (or single module file) it was imported from
    digest: str  # SHA-256 over the relative paths and bytes of its source files
    redfire: str  # RedFire's version and the digest of redfire_core

    def as_json(self) -> dict[str, str]:
        return {
            "distribution": self.distribution,
            "version": self.version,
            "digest": self.digest,
            "redfire": self.redfire,
        }


_LOADED: dict[type[Any], CodeIdentity] = {}


def remember(strategy: type[Strategy], distribution: str | None, version: str | None) -> None:
    """Take the identity of ``strategy`` as its entry point loaded it (the first time in
    this process: later loads return the same, already imported, code)."""
    if strategy not in _LOADED:
        _LOADED[strategy] = _identity(strategy, distribution, version)


def identity(strategy: type[Strategy]) -> CodeIdentity:
    """The identity taken when this process loaded ``strategy`` (taken now the first time,
    for a strategy that did not come through an entry point)."""
    found = _LOADED.get(strategy)
    if found is None:
        found = _LOADED[strategy] = _identity(strategy, None, None)
    return found


def check_loaded(strategy: type[Strategy]) -> None:
    """StrategyError ``STRATEGY_CODE_CHANGED`` when the strategy's files (or RedFire's)
    changed on disk since this process loaded them: its results would be for other code."""
    loaded = identity(strategy)
    if digest_of(Path(loaded.root)) != loaded.digest or _redfire_now() != loaded.redfire:
        raise StrategyError(
            "STRATEGY_CODE_CHANGED",
            f"the code of strategy {strategy.name!r} changed on disk since this worker "
            "loaded it: restart the worker (`make dev` restarts the local cloud)",
        )


def _identity(
    strategy: type[Strategy], distribution: str | None, version: str | None
) -> CodeIdentity:
    root = source_root(strategy.__module__)
    if distribution is None:
        if strategy.__module__.startswith("redfire_core."):
            distribution, version = REDFIRE_DISTRIBUTION, redfire_version()
        else:
            distribution, version = strategy.__module__.partition(".")[0], "unversioned"
    return CodeIdentity(
        distribution=distribution,
        version=version or "unversioned",
        root=str(root) if root else "",
        digest=digest_of(root) if root else _no_source(strategy),
        redfire=_redfire_now(),
    )


def source_root(module_name: str) -> Path | None:
    """The directory of the top-level package ``module_name`` belongs to (or the file of
    a top-level module); None for a module without a file."""
    top = sys.modules.get(module_name.partition(".")[0])
    file = getattr(top, "__file__", None)
    if not file:
        return None
    path = Path(file)
    return path.parent if path.name == "__init__.py" else path


def digest_of(root: Path) -> str:
    """SHA-256 over the relative paths and contents of the source files under ``root``."""
    digest = hashlib.sha256()
    files = [root] if root.is_file() else sorted(root.rglob("*"))
    for path in files:
        if path.suffix not in SOURCE_SUFFIXES or "__pycache__" in path.parts:
            continue
        try:
            content = path.read_bytes()
        except OSError:
            continue  # vanished while listed: the comparison then differs
        name = path.name if path == root else path.relative_to(root).as_posix()
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


@cache
def redfire_version() -> str:
    """The installed RedFire version; the Lambda layer has no metadata ("layer")."""
    try:
        return version(REDFIRE_DISTRIBUTION)
    except PackageNotFoundError:
        return "layer"


def _redfire_now() -> str:
    root = Path(__file__).resolve().parents[1]  # the redfire_core package
    return f"{redfire_version()}+{digest_of(root)}"


def _no_source(strategy: type[Strategy]) -> str:
    return hashlib.sha256(f"{strategy.__module__}.{strategy.__qualname__}".encode()).hexdigest()
