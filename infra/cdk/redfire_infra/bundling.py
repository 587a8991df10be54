"""Code assets built without Docker: the layers of ``redfire_core.resources.LAYERS`` and the
function folders.

Each layer holds its locked distributions (``redfire_infra.layer_contents``: from
``uv.lock``, less what the runtime provides and, beyond ``core``, less what ``core`` holds)
installed as manylinux aarch64 CPython 3.12 wheels and, when a CPython 3.12 is at hand,
compiled to 3.12 bytecode; ``core`` also holds the ``redfire_core`` package. Installs are
cached under ``.build/`` keyed by the requirements, so repeated synths do not download again.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from redfire_core.resources import CORE_LAYER
from redfire_infra.layer_contents import (
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON_VERSION,
    LayerBuildError,
    LockedPackages,
    Target,
    compile_bytecode,
    install,
    layer_distributions,
    layer_target,
    pinned,
)
from redfire_infra.plugin_layer import PLUGINS_LAYER, install_plugins, plugins_fingerprint

REPO_ROOT = Path(__file__).resolve().parents[3]
CORE_LAYER_DIR = REPO_ROOT / "layers" / "redfire_core"
CORE_PACKAGE = "redfire_core"

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
assert LAMBDA_PYTHON_VERSION == "3.12" and LAMBDA_PLATFORM.startswith("aarch64")

ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache"]
# BundlingOptions requires an image; local bundling always succeeds, so it is never pulled.
_UNUSED_IMAGE = DockerImage.from_registry("local-bundling-only")

__all__ = ["LayerBuildError", "function_code", "layer_code", "plugins_layer_code"]


@jsii.implements(ILocalBundling)
class LayerBundling:
    """Builds one layer on this machine (no Docker): its distributions, and for ``core``
    the ``redfire_core`` package (compiled like the rest)."""

    def __init__(self, name: str, requirements: list[str], target: Target) -> None:
        self._name = name
        self._requirements = requirements
        self._target = target

    def try_bundle(self, output_dir: str, *_options: Any, **_kwargs: Any) -> bool:
        site_packages = Path(output_dir) / "python"
        shutil.copytree(install(self._requirements, self._target, self._name), site_packages)
        if self._name == CORE_LAYER:
            shutil.copytree(
                CORE_LAYER_DIR / CORE_PACKAGE,
                site_packages / CORE_PACKAGE,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
            if self._target.compile_with:
                compile_bytecode(site_packages, self._target.compile_with, CORE_PACKAGE)
        return True


def layer_code(name: str) -> lambda_.Code:
    """Asset of one layer; its hash covers the requirements (and ``redfire_core`` for core)."""
    locked = LockedPackages.load()
    requirements = pinned(layer_distributions(locked)[name], locked)
    target = layer_target(Target.lambda_(), name)
    recipe = "|".join([name, *requirements, "compiled" if target.compile_with else "sources"])
    if target.platform != LAMBDA_PLATFORM:  # a layer's own platform (Layer.platform)
        recipe += f"|{target.platform}"
    fingerprint = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    bundling = BundlingOptions(
        image=_UNUSED_IMAGE,
        local=LayerBundling(name, requirements, target),
        # Part of core's asset hash: a new lock means a new layer version.
        environment={"REDFIRE_LAYER": name, "REDFIRE_LAYER_REQUIREMENTS": fingerprint},
    )
    if name == CORE_LAYER:  # hashed over redfire_core's sources and the requirements
        return lambda_.Code.from_asset(
            str(CORE_LAYER_DIR), exclude=ASSET_EXCLUDES, bundling=bundling
        )
    # Only the requirements shape the other layers: a redfire_core change leaves them alone.
    return lambda_.Code.from_asset(
        str(CORE_LAYER_DIR),
        exclude=ASSET_EXCLUDES,
        bundling=bundling,
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=fingerprint,
    )


@jsii.implements(ILocalBundling)
class PluginsBundling:
    """Builds a stage's plug-ins layer on this machine (redfire_infra.plugin_layer)."""

    def __init__(self, entries: list[str], target: Target) -> None:
        self._entries = entries
        self._target = target

    def try_bundle(self, output_dir: str, *_options: Any, **_kwargs: Any) -> bool:
        shutil.copytree(install_plugins(self._entries, self._target), Path(output_dir) / "python")
        return True


def plugins_layer_code(entries: list[str]) -> lambda_.Code:
    """Asset of a stage's plug-ins layer, hashed over the entries and local plug-ins' files."""
    target = Target.lambda_()
    fingerprint = plugins_fingerprint(entries)
    return lambda_.Code.from_asset(
        str(CORE_LAYER_DIR),
        exclude=ASSET_EXCLUDES,
        bundling=BundlingOptions(
            image=_UNUSED_IMAGE,
            local=PluginsBundling(entries, target),
            environment={"REDFIRE_LAYER": PLUGINS_LAYER},
        ),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=f"{PLUGINS_LAYER}-{fingerprint}",
    )


def function_code(asset: str) -> lambda_.Code:
    """Asset of one function: its folder as is (pure Python; dependencies live in the layer)."""
    return lambda_.Code.from_asset(str(REPO_ROOT / asset), exclude=ASSET_EXCLUDES)
