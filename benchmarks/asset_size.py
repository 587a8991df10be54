"""Size of every function asset and of each Lambda layer (``redfire_core.resources.LAYERS``),
against the 20 MB goal of the common layer and Lambda's limits.

Function assets are the ``functions/<name>`` folders as CDK bundles them (no bytecode
caches). Each layer is built as the CDK app builds it (``redfire_infra.layer_contents``):
its locked distributions as CPython 3.12 manylinux aarch64 wheels, without what the Lambda
runtime provides and, beyond ``core``, without what ``core`` holds, compiled to 3.12
bytecode when a CPython 3.12 is at hand; ``core`` adds ``redfire_core`` (compiled too). The
installs are the CDK app's own cache (``.build/lambda-<layer>-*``). Zipped sizes come from
zipping each tree here with deflate, as the asset upload does.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO_ROOT, Result, Table, mark, status_of
from redfire_core.resources import CORE_LAYER, FUNCTIONS, LAYERS
from redfire_infra.layer_contents import (
    PROVIDED_BY_RUNTIME,
    LockedPackages,
    Target,
    compile_bytecode,
    installed_layers,
    layer_distributions,
)

MB = 1024 * 1024
UNZIPPED_LIMIT_MB = 250  # function + all its layers, unzipped
ZIPPED_LIMIT_MB = 50  # one deployment package or layer, zipped, direct upload
COMMON_LAYER_GOAL_MB = 20  # issue 15: the layer every function carries
FUNCTION_ZIP_GOAL_MB = 1  # issue 15: function code stays small (dependencies in layers)
CORE_PACKAGE = REPO_ROOT / "layers" / "redfire_core" / "redfire_core"
EXCLUDED = ("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
TOP_PACKAGES = 10


@dataclass(frozen=True)
class Tree:
    """Files of one asset: path inside the zip -> file on disk."""

    files: dict[str, Path]

    @classmethod
    def of(cls, root: Path, prefix: str = "", *, bytecode: bool = False) -> Tree:
        """Files under ``root``; bytecode caches only with ``bytecode`` (layers ship it)."""
        files = {}
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if bytecode or not _excluded(d)]
            for name in names:
                if bytecode or not _excluded(name):
                    path = Path(folder) / name
                    files[prefix + path.relative_to(root).as_posix()] = path
        return cls(files)

    def __add__(self, other: Tree) -> Tree:
        return Tree({**self.files, **other.files})

    @property
    def unzipped(self) -> int:
        return sum(p.stat().st_size for p in self.files.values())

    def zipped(self) -> int:
        with tempfile.TemporaryFile() as scratch:
            with zipfile.ZipFile(scratch, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, path in sorted(self.files.items()):
                    archive.write(path, name)
            return scratch.tell()

    def by_top_folder(self, depth: int) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for name, path in self.files.items():
            key = "/".join(name.split("/")[: depth + 1])
            sizes[key] = sizes.get(key, 0) + path.stat().st_size
        return sizes


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED)


def _size(size: int) -> str:
    return f"{size / MB:.2f} MB" if size >= MB / 10 else f"{size / 1024:.1f} KB"


def _core_package(target: Target, scratch: Path) -> Tree:
    """``redfire_core`` as the core layer holds it (compiled like the bundling does)."""
    site_packages = scratch / "python"
    shutil.copytree(
        CORE_PACKAGE, site_packages / "redfire_core", ignore=shutil.ignore_patterns(*EXCLUDED)
    )
    if target.compile_with:
        compile_bytecode(site_packages, target.compile_with, "redfire_core")
    return Tree.of(site_packages / "redfire_core", "python/redfire_core/", bytecode=True)


def run() -> Result:
    target = Target.lambda_()
    locked = LockedPackages.load()
    contents = layer_distributions(locked)
    installed = installed_layers(target)
    with tempfile.TemporaryDirectory() as scratch:
        layers = {name: Tree.of(path, "python/", bytecode=True) for name, path in installed.items()}
        layers[CORE_LAYER] = layers[CORE_LAYER] + _core_package(target, Path(scratch))
        unzipped = {name: tree.unzipped for name, tree in layers.items()}
        zipped = {name: tree.zipped() for name, tree in layers.items()}
        largest = sorted(
            layers[CORE_LAYER].by_top_folder(1).items(), key=lambda kv: kv[1], reverse=True
        )

    checks: list[bool] = []
    layer_rows = []
    for name in LAYERS:
        checks.append(zipped[name] <= ZIPPED_LIMIT_MB * MB)
        goal_met = unzipped[name] <= COMMON_LAYER_GOAL_MB * MB
        if name == CORE_LAYER:
            checks.append(goal_met)
        users = [f for f, spec in FUNCTIONS.items() if name in spec.layers]
        layer_rows.append(
            [
                f"layer `{name}`",
                ", ".join(users),
                str(len(contents[name])),
                _size(unzipped[name]),
                (mark(goal_met) if name == CORE_LAYER else "-"),
                _size(zipped[name]),
                mark(checks[-2] if name == CORE_LAYER else checks[-1]),
            ]
        )
    function_rows = []
    totals = []
    for name, function in FUNCTIONS.items():
        asset = Tree.of(REPO_ROOT / function.asset)
        asset_zipped = asset.zipped()
        total = asset.unzipped + sum(unzipped[layer] for layer in function.layers)
        totals.append(total)
        checks += [asset_zipped <= FUNCTION_ZIP_GOAL_MB * MB, total <= UNZIPPED_LIMIT_MB * MB]
        function_rows.append(
            [
                f"function `{name}` (`{function.asset}`)",
                " + ".join(function.layers),
                _size(asset.unzipped),
                _size(asset_zipped),
                mark(checks[-2]),
                f"{_size(total)} ({100 * total / (UNZIPPED_LIMIT_MB * MB):.1f}%)",
                mark(checks[-1]),
            ]
        )
    bytecode = (
        f"compiled to 3.12 bytecode with `{target.compile_with}` (unchecked-hash pycs)"
        if target.compile_with
        else "no CPython 3.12 here: sources only (no bytecode)"
    )
    return Result(
        name="asset_size",
        title="Function assets and layer sizes",
        status=status_of(checks),
        summary=(
            f"core layer {_size(unzipped[CORE_LAYER])} unzipped (goal "
            f"{COMMON_LAYER_GOAL_MB} MB); "
            + ", ".join(f"{n} {_size(unzipped[n])}" for n in LAYERS if n != CORE_LAYER)
            + f"; largest function + its layers {_size(max(totals))} of {UNZIPPED_LIMIT_MB} MB"
        ),
        target=(
            f"core layer <= {COMMON_LAYER_GOAL_MB} MB unzipped; every function zip <= "
            f"{FUNCTION_ZIP_GOAL_MB} MB; every function + its layers <= {UNZIPPED_LIMIT_MB} MB "
            f"unzipped; every layer <= {ZIPPED_LIMIT_MB} MB zipped"
        ),
        reference="issue 15 (20 MB common layer, 1 MB function zips); Lambda service limits: "
        "250 MB unzipped (function and all layers), 50 MB zipped for a direct upload",
        method=[
            "Function asset: the folder named in `FUNCTIONS[...].asset` without "
            "`__pycache__`, `*.pyc`, `.pytest_cache`, `.mypy_cache` (the CDK's "
            "`ASSET_EXCLUDES`).",
            "Layers: `python/` holding each layer's locked distributions "
            "(`redfire_infra.layer_contents`: the closure in `uv.lock` of "
            "`LAYERS[...].requires`, minus "
            f"{', '.join(sorted(PROVIDED_BY_RUNTIME))} and, beyond `core`, minus `core`) as "
            f"manylinux2014 aarch64 CPython 3.12 wheels, {bytecode}; `core` adds "
            "`redfire_core`. Same installs as the CDK bundling (`.build/lambda-<layer>-*`).",
            "Unzipped = sum of file sizes (bytecode included); zipped = a deflate zip of the "
            "same tree written here.",
        ],
        tables=[
            Table(
                "Layers (1 MB = 1,048,576 bytes)",
                [
                    "layer",
                    "functions",
                    "distributions",
                    "unzipped",
                    f"<= {COMMON_LAYER_GOAL_MB} MB (core)",
                    "zipped",
                    f"zipped <= {ZIPPED_LIMIT_MB} MB",
                ],
                layer_rows,
            ),
            Table(
                "Functions",
                [
                    "function",
                    "layers",
                    "unzipped",
                    "zipped",
                    f"zipped <= {FUNCTION_ZIP_GOAL_MB} MB",
                    "function + its layers, unzipped (% of 250 MB)",
                    f"<= {UNZIPPED_LIMIT_MB} MB",
                ],
                function_rows,
            ),
            Table(
                f"The core layer's {TOP_PACKAGES} largest top-level entries, unzipped",
                ["entry", "MB"],
                [[f"`{name}`", f"{size / MB:.2f}"] for name, size in largest[:TOP_PACKAGES]],
            ),
        ],
        notes=[
            "The Lambda Python runtime's own boto3 and its dependencies (not the locked "
            "versions) serve the functions, since the layers leave them out.",
            "Before the split (one layer for every function, no bytecode): 150 MB unzipped, "
            "pyarrow 117 MB and cryptography 13 MB of it.",
            "arro3-io + arro3-core 0.9.1 (manylinux_2_28 aarch64) would be 28.9 MB against "
            "pyarrow's 117 MB, measured once; the reader still uses pyarrow (docs/deploy.md).",
            "CDK deploys assets through S3, where only the 250 MB unzipped limit applies; the "
            "50 MB zipped limit matters for a direct upload (e.g. `aws lambda "
            "publish-layer-version --zip-file`).",
        ],
    )


if __name__ == "__main__":
    from benchmarks.common import run_cli

    run_cli(run)
