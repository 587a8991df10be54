"""What each Lambda layer holds, from ``uv.lock`` and ``redfire_core.resources.LAYERS``,
and how it is installed (no aws_cdk import: the layer test and the size benchmark use it).

A layer's distributions are the locked closure of its ``requires`` (extras followed), less
what the Python runtime provides (boto3 and its dependencies) and, for layers other than
``core``, less what ``core`` holds: a function always has ``core``, so nothing is shipped
twice. Installs are cached under ``.build/`` keyed by everything that shapes them.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.markers import Marker

from redfire_core.resources import CORE_LAYER, LAYERS

REPO_ROOT = Path(__file__).resolve().parents[3]
LOCK_FILE = REPO_ROOT / "uv.lock"
BUILD_CACHE_DIR = REPO_ROOT / ".build"
PROJECT = "redfire"

# The Lambda Python runtime ships boto3 with its dependencies (/var/runtime, after the
# layers on sys.path): leaving them out keeps the layers small.
PROVIDED_BY_RUNTIME = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)

# Installed files nothing reads at run time: pyarrow's C++ headers and sources, Cython
# sources and its own test suite (~12 MB of the ~126 MB pyarrow adds), test suites, type stubs.
LAYER_PRUNE = (
    "pyarrow/include",
    "pyarrow/includes",
    "pyarrow/src",
    "pyarrow/tests",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/*.pxi",
    # pandas' and numpy's own test suites (~60 MB of the venue-alpaca layer's ~160 MB).
    "pandas/tests",
    "numpy/tests",
    "numpy/*/tests",
    "wrapt-stubs",
    "bin",  # console scripts
    ".lock",  # uv's lock file
)

# Sources shipped but never compiled: ccxt 4.5 ships BIP-44 configuration modules with an
# empty relative import (``from  import ...``), a SyntaxError in any Python; nothing the
# binance exchange loads imports them, and they fail the same way with or without bytecode.
COMPILE_EXCLUDE = r"ccxt/static_dependencies/bip/conf/"

# What a deployed layer is built for (must match bundling.LAMBDA_RUNTIME/ARCHITECTURE).
LAMBDA_PLATFORM = "aarch64-manylinux2014"
LAMBDA_PYTHON_VERSION = "3.12"
# Where Lambda mounts a layer's python/ folder: the path tracebacks show.
LAMBDA_LAYER_PATH = "/opt/python"


class LayerBuildError(RuntimeError):
    """Reading the lock, or installing a layer's distributions, failed."""


_REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[([A-Za-z0-9_,.-]+)\])?$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class LockedPackages:
    """Versions and dependency edges of ``uv.lock`` (markers ignored: the layers target one
    platform, Linux CPython, where every marker of this lock holds)."""

    versions: dict[str, str]
    edges: dict[str, tuple[str, ...]]  # "name" or "name[extra]" -> requirements
    # Distributions locked at more than one version, one per Python range (numpy 2.5 dropped
    # 3.11): name -> [(version, its resolution markers)].
    forks: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)

    @classmethod
    def load(cls, lock_file: Path = LOCK_FILE) -> LockedPackages:
        lock = tomllib.loads(lock_file.read_text())
        versions: dict[str, str] = {}
        edges: dict[str, tuple[str, ...]] = {}
        forks: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for package in lock["package"]:
            name = normalise(package["name"])
            versions[name] = package.get("version", "")
            markers = tuple(package.get("resolution-markers", ()))
            forks.setdefault(name, []).append((versions[name], markers))
            edges[name] = tuple(_requirement(d) for d in package.get("dependencies", ()))
            for extra, deps in package.get("optional-dependencies", {}).items():
                edges[f"{name}[{extra}]"] = (name, *(_requirement(d) for d in deps))
        return cls(versions, edges, {n: f for n, f in forks.items() if len(f) > 1})

    def version(self, name: str, python_version: str = LAMBDA_PYTHON_VERSION) -> str:
        """The locked version of ``name`` for Linux CPython ``python_version``."""
        if name not in self.forks:
            return self.versions[name]
        environment = {
            "python_full_version": f"{python_version}.0",
            "python_version": python_version,
            "sys_platform": "linux",
            "platform_system": "Linux",
            "implementation_name": "cpython",
        }
        for version, markers in self.forks[name]:
            if any(Marker(marker).evaluate(environment) for marker in markers):
                return version
        raise LayerBuildError(f"no locked version of {name} for Python {python_version}")

    def closure(self, roots: tuple[str, ...]) -> set[str]:
        """Distribution names ``roots`` need, themselves included."""
        seen: set[str] = set()
        wanted: set[str] = set()
        pending = list(roots)
        while pending:
            requirement = pending.pop()
            if requirement in seen:
                continue
            seen.add(requirement)
            match = _REQUIREMENT.match(requirement)
            if not match:
                raise LayerBuildError(f"cannot read requirement {requirement!r}")
            name = normalise(match.group(1))
            if name not in self.versions:
                raise LayerBuildError(f"{name} is not in uv.lock")
            wanted.add(name)
            pending.extend(self.edges[name])
            for extra in filter(None, (match.group(2) or "").split(",")):
                pending.extend(self.edges.get(f"{name}[{extra}]", ()))
        return wanted

    def runtime_dependencies(self) -> set[str]:
        """The project's runtime closure (its ``dependencies``, no dev or cdk groups)."""
        return self.closure(self.edges[PROJECT]) - {PROJECT}


def _requirement(dependency: dict[str, object]) -> str:
    extras = dependency.get("extra") or []
    name = str(dependency["name"])
    return f"{name}[{','.join(map(str, extras))}]" if extras else name  # type: ignore[call-overload]


def layer_distributions(locked: LockedPackages | None = None) -> dict[str, set[str]]:
    """Layer name -> distribution names it installs."""
    locked = locked or LockedPackages.load()
    core = locked.closure(LAYERS[CORE_LAYER].requires) - PROVIDED_BY_RUNTIME
    contents = {CORE_LAYER: core}
    for name, layer in LAYERS.items():
        if name != CORE_LAYER:
            contents[name] = locked.closure(layer.requires) - PROVIDED_BY_RUNTIME - core
    return contents


def pinned(
    names: set[str], locked: LockedPackages, python_version: str = LAMBDA_PYTHON_VERSION
) -> list[str]:
    return sorted(f"{name}=={locked.version(name, python_version)}" for name in names)


def uv() -> str:
    from uv import find_uv_bin  # lazy: uv is a dev dependency, needed only when bundling

    return str(find_uv_bin())


def run(command: list[str]) -> str:
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LayerBuildError(f"{' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def python312() -> str | None:
    """A CPython 3.12 to compile the layers' bytecode with (the runtime's version: bytecode
    is version specific). ``REDFIRE_PYTHON312`` names one; else uv's or pyenv's; else None
    (the layer then ships sources only and Lambda compiles them in memory on every cold
    start, since /opt is read-only)."""
    candidates = [os.environ.get("REDFIRE_PYTHON312", "")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    with contextlib.suppress(LayerBuildError):  # no 3.12 that uv knows of
        candidates.append(run([uv(), "python", "find", "--no-project", "3.12"]).strip())
    for candidate in filter(None, candidates):
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def compile_bytecode(site_packages: Path, python: str, subtree: str | None = None) -> None:
    """Compile ``site_packages`` (or one ``subtree`` of it) for the interpreter ``python``
    as unchecked-hash pycs: valid whatever the files' timestamps after zipping, and never
    re-checked against the source (a layer version never changes)."""
    root = site_packages / subtree if subtree else site_packages
    run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-x",
            COMPILE_EXCLUDE,
            "-s",
            str(site_packages),
            "-p",
            LAMBDA_LAYER_PATH,
            str(root),
        ]
    )


def prune(site_packages: Path) -> None:
    """Remove what ``LAYER_PRUNE`` names (build-time files) from installed distributions."""
    for pattern in LAYER_PRUNE:
        for path in site_packages.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


@dataclass(frozen=True)
class Target:
    """Who the installed wheels are for: Lambda (aarch64, 3.12, bytecode compiled with
    ``compile_with``) or this host (its own interpreter, for tests)."""

    key: str
    platform: str | None
    python_version: str
    compile_with: str | None = None

    @classmethod
    def lambda_(cls) -> Target:
        return cls("lambda", LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, python312())

    @classmethod
    def host(cls) -> Target:
        return cls("host", None, f"{sys.version_info.major}.{sys.version_info.minor}")


def layer_target(target: Target, name: str) -> Target:
    """``target`` with the wheel platform layer ``name`` declares (``Layer.platform``), for
    Lambda builds; host builds use this machine's own platform."""
    platform = LAYERS[name].platform if name in LAYERS else None
    if target.platform is None or platform is None:
        return target
    return replace(target, platform=platform)


def install(requirements: list[str], target: Target, label: str) -> Path:
    """Directory holding ``requirements`` installed for ``target``, built once and cached."""
    recipe = "|".join(
        [
            target.key,
            str(target.platform),
            target.python_version,
            "compiled" if target.compile_with else "sources",
            *requirements,
            *LAYER_PRUNE,
        ]
    )
    fingerprint = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    cached = BUILD_CACHE_DIR / f"{target.key}-{label}-{fingerprint}"
    if cached.is_dir():
        return cached
    BUILD_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_CACHE_DIR, prefix="tmp-layer-") as scratch:
        requirements_file = Path(scratch) / "requirements.txt"
        requirements_file.write_text("\n".join(requirements) + "\n")
        site_packages = Path(scratch) / "site-packages"
        site_packages.mkdir()
        command = [uv(), "pip", "install", "--quiet", "--target", str(site_packages)]
        if target.platform:
            command += ["--python-platform", target.platform]
        command += [
            "--python-version",
            target.python_version,
            "--only-binary",
            ":all:",
            "--no-deps",  # the requirements are already the full, locked closure
            "--no-compile",
            "-r",
            str(requirements_file),
        ]
        if requirements:
            run(command)
        prune(site_packages)
        if target.compile_with and requirements:
            compile_bytecode(site_packages, target.compile_with)
        try:
            site_packages.rename(cached)
        except OSError:  # another build won the race; its result is identical
            if not cached.is_dir():
                raise
    return cached


def installed_layers(target: Target) -> dict[str, Path]:
    """Layer name -> its installed distributions (without ``redfire_core``) for ``target``."""
    locked = LockedPackages.load()
    return {
        name: install(
            pinned(names, locked, target.python_version), layer_target(target, name), name
        )
        for name, names in layer_distributions(locked).items()
    }


def installed_runtime(target: Target) -> Path:
    """What the Lambda runtime provides (locked versions), for running handlers here."""
    locked = LockedPackages.load()
    provided = locked.closure(tuple(PROVIDED_BY_RUNTIME & set(locked.versions)))
    return install(pinned(provided, locked, target.python_version), target, "runtime")
