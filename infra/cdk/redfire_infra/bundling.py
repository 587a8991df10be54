"""Code assets built without Docker: the ``redfire_core`` layer and the function folders.

The layer holds the project's runtime dependencies, as locked in ``uv.lock``, installed
as manylinux aarch64 CPython 3.12 wheels (``uv pip install --target``), plus the
``redfire_core`` package. The installed dependencies are cached under ``.build/`` keyed
by the hash of the exported requirements, so repeated synths do not download again.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[3]
CORE_LAYER_DIR = REPO_ROOT / "layers" / "redfire_core"
CORE_PACKAGE = "redfire_core"
BUILD_CACHE_DIR = REPO_ROOT / ".build"

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
# Must match the two constants above: what `uv pip install` resolves wheels for.
_WHEEL_PLATFORM = "aarch64-manylinux2014"
_WHEEL_PYTHON_VERSION = "3.12"

# The Lambda Python runtime ships these; leaving them out keeps the layer small.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer"})

ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache"]
# Installed files nothing reads at run time: pyarrow's C++ headers and sources, Cython
# sources and its own test suite (~12 MB of the ~126 MB pyarrow adds; docs/marketdata.md).
LAYER_PRUNE = (
    "pyarrow/include",
    "pyarrow/includes",
    "pyarrow/src",
    "pyarrow/tests",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/*.pxi",
)
# BundlingOptions requires an image; local bundling always succeeds, so it is never pulled.
_UNUSED_IMAGE = DockerImage.from_registry("local-bundling-only")


class LayerBuildError(RuntimeError):
    """Exporting or installing the layer's dependencies failed."""


def _uv() -> str:
    from uv import find_uv_bin  # lazy: uv is a dev dependency, needed only when bundling

    return str(find_uv_bin())


def _run(command: list[str]) -> str:
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LayerBuildError(f"{' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def runtime_requirements() -> str:
    """Pinned runtime dependencies from ``uv.lock``, minus what the Lambda runtime provides."""
    exported = _run(
        [
            _uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-group",
            "cdk",
            "--no-emit-project",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
        ]
    )
    kept = []
    for line in exported.splitlines():
        requirement = line.strip()
        if not requirement or requirement.startswith("#"):
            continue
        name = requirement.split("==", 1)[0].split(";", 1)[0].strip().lower()
        if name.replace("_", "-") not in PROVIDED_BY_RUNTIME:
            kept.append(requirement)
    return "\n".join(sorted(kept)) + "\n"


def _fingerprint(requirements: str) -> str:
    recipe = f"{_WHEEL_PLATFORM}|{_WHEEL_PYTHON_VERSION}|{requirements}|{LAYER_PRUNE}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def installed_dependencies(requirements: str) -> Path:
    """Directory holding the installed wheels for ``requirements``, built once and cached."""
    cached = BUILD_CACHE_DIR / f"layer-{_fingerprint(requirements)}"
    if cached.is_dir():
        return cached
    BUILD_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_CACHE_DIR, prefix="tmp-layer-") as scratch:
        requirements_file = Path(scratch) / "requirements.txt"
        requirements_file.write_text(requirements)
        target = Path(scratch) / "site-packages"
        _run(
            [
                _uv(),
                "pip",
                "install",
                "--quiet",
                "--target",
                str(target),
                "--python-platform",
                _WHEEL_PLATFORM,
                "--python-version",
                _WHEEL_PYTHON_VERSION,
                "--only-binary",
                ":all:",
                "--no-deps",  # the export is already the full, locked closure
                "--no-compile",
                "-r",
                str(requirements_file),
            ]
        )
        for leftover in ("bin", ".lock"):  # console scripts and uv's lock file: not code
            path = target / leftover
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        prune(target)
        try:
            target.rename(cached)
        except OSError:  # another synth won the race; its result is identical
            if not cached.is_dir():
                raise
    return cached


def prune(site_packages: Path) -> None:
    """Remove what ``LAYER_PRUNE`` names (build-time files) from installed dependencies."""
    for pattern in LAYER_PRUNE:
        for path in site_packages.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


@jsii.implements(ILocalBundling)
class CoreLayerBundling:
    """Builds the layer on this machine (no Docker): dependencies, then ``redfire_core``."""

    def __init__(self, requirements: str) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, *_options: Any, **_kwargs: Any) -> bool:
        site_packages = Path(output_dir) / "python"
        shutil.copytree(installed_dependencies(self._requirements), site_packages)
        shutil.copytree(
            CORE_LAYER_DIR / CORE_PACKAGE,
            site_packages / CORE_PACKAGE,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        return True


def core_layer_code() -> lambda_.Code:
    """Asset of the ``redfire_core`` layer; its hash covers the package and the requirements."""
    requirements = runtime_requirements()
    return lambda_.Code.from_asset(
        str(CORE_LAYER_DIR),
        exclude=ASSET_EXCLUDES,
        bundling=BundlingOptions(
            image=_UNUSED_IMAGE,
            local=CoreLayerBundling(requirements),
            # Part of the asset hash: a new lock means a new layer version.
            environment={"REDFIRE_LAYER_REQUIREMENTS": _fingerprint(requirements)},
        ),
    )


def function_code(asset: str) -> lambda_.Code:
    """Asset of one function: its folder as is (pure Python; dependencies live in the layer)."""
    return lambda_.Code.from_asset(str(REPO_ROOT / asset), exclude=ASSET_EXCLUDES)
