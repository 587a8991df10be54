"""Size of every function asset and of the ``redfire_core`` layer, against Lambda's limits.

Function assets are the ``functions/<name>`` folders as CDK bundles them (no bytecode
caches). The layer is the locked runtime dependencies, installed as CPython 3.12
manylinux aarch64 wheels without boto3/botocore/s3transfer (the runtime provides
them), plus ``redfire_core``: measured from the CDK app's bundling cache
(``.build/layer-*``) when one matches ``uv.lock``, else installed once with pip into
``.build/bench-layer`` and reused by later runs. Zipped sizes come from zipping each
tree here with deflate, as the asset upload does.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO_ROOT, Result, Table, mark, status_of
from redfire_core.resources import FUNCTIONS

MB = 1024 * 1024
UNZIPPED_LIMIT_MB = 250  # function + all its layers, unzipped
ZIPPED_LIMIT_MB = 50  # one deployment package or layer, zipped, direct upload
BUILD_DIR = REPO_ROOT / ".build"
BENCH_LAYER_DIR = BUILD_DIR / "bench-layer"
CORE_PACKAGE = REPO_ROOT / "layers" / "redfire_core" / "redfire_core"
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer"}
EXCLUDED = ("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
TOP_PACKAGES = 10


@dataclass(frozen=True)
class Tree:
    """Files of one asset: path inside the zip -> file on disk."""

    files: dict[str, Path]

    @classmethod
    def of(cls, root: Path, prefix: str = "") -> Tree:
        files = {}
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if not _excluded(d)]
            for name in names:
                if not _excluded(name):
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


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_requirements() -> list[str]:
    """``name==version`` of the runtime dependencies in ``uv.lock``, minus the runtime's own."""
    exported = subprocess.run(
        [
            str(Path(sys.executable).with_name("uv")),
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--no-group",
            "cdk",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    kept = []
    for line in exported.splitlines():
        requirement = line.split(";", 1)[0].strip()
        if not requirement or requirement.startswith("#"):
            continue
        name, _, version = requirement.partition("==")
        if _canonical(name) not in PROVIDED_BY_RUNTIME:
            kept.append(f"{_canonical(name)}=={version}")
    return sorted(kept)


def installed(directory: Path) -> list[str]:
    """``name==version`` of every distribution installed in ``directory``."""
    found = []
    for info in directory.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found.append(f"{_canonical(name)}=={version}")
    return sorted(found)


def layer_dependencies(requirements: list[str]) -> tuple[Path, str]:
    """A directory holding exactly ``requirements`` for the Lambda platform, and its origin."""
    built = sorted(BUILD_DIR.glob("layer-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for directory in built:
        if directory.is_dir() and installed(directory) == requirements:
            return directory, "the CDK app's bundling cache"
    if not (BENCH_LAYER_DIR.is_dir() and installed(BENCH_LAYER_DIR) == requirements):
        _pip_install(requirements, BENCH_LAYER_DIR)
    return BENCH_LAYER_DIR, "pip install into the benchmarks' cache"


def _pip_install(requirements: list[str], target: Path) -> None:
    BUILD_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_DIR, prefix="tmp-bench-layer-") as scratch:
        requirements_file = Path(scratch) / "requirements.txt"
        requirements_file.write_text("\n".join(requirements) + "\n")
        site_packages = Path(scratch) / "python"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(site_packages),
                "--platform",
                "manylinux2014_aarch64",
                "--implementation",
                "cp",
                "--python-version",
                "3.12",
                "--only-binary=:all:",
                "--no-deps",  # the export is the whole locked closure already
                "--no-compile",
                "-r",
                str(requirements_file),
            ],
            check=True,
            timeout=300,
        )
        if (site_packages / "bin").is_dir():
            for script in (site_packages / "bin").iterdir():
                script.unlink()
            (site_packages / "bin").rmdir()
        if target.exists():
            import shutil

            shutil.rmtree(target)
        site_packages.rename(target)


def _size(size: int) -> str:
    return f"{size / MB:.2f} MB" if size >= MB / 10 else f"{size / 1024:.1f} KB"


def run() -> Result:
    requirements = locked_requirements()
    dependencies, origin = layer_dependencies(requirements)
    layer = Tree.of(dependencies, "python/") + Tree.of(CORE_PACKAGE, "python/redfire_core/")
    layer_unzipped, layer_zipped = layer.unzipped, layer.zipped()

    checks = [layer_zipped <= ZIPPED_LIMIT_MB * MB]
    rows = [
        [
            "layer `redfire_core` (dependencies + package)",
            str(len(layer.files)),
            _size(layer_unzipped),
            _size(layer_zipped),
            mark(checks[-1]),
            "",
            "",
        ]
    ]
    totals = []
    for name, function in FUNCTIONS.items():
        asset = Tree.of(REPO_ROOT / function.asset)
        unzipped, zipped = asset.unzipped, asset.zipped()
        total = unzipped + layer_unzipped
        totals.append(total)
        checks += [zipped <= ZIPPED_LIMIT_MB * MB, total <= UNZIPPED_LIMIT_MB * MB]
        rows.append(
            [
                f"function `{name}` (`{function.asset}`)",
                str(len(asset.files)),
                _size(unzipped),
                _size(zipped),
                mark(checks[-2]),
                f"{_size(total)} ({100 * total / (UNZIPPED_LIMIT_MB * MB):.1f}%)",
                mark(checks[-1]),
            ]
        )
    largest = sorted(layer.by_top_folder(1).items(), key=lambda kv: kv[1], reverse=True)
    return Result(
        name="asset_size",
        title="Function assets and layer size",
        status=status_of(checks),
        summary=(
            f"layer {_size(layer_unzipped)} unzipped / {_size(layer_zipped)} zipped; "
            f"largest function + layer {_size(max(totals))} of {UNZIPPED_LIMIT_MB} MB"
        ),
        target=(
            f"every function + its layer <= {UNZIPPED_LIMIT_MB} MB unzipped; every asset <= "
            f"{ZIPPED_LIMIT_MB} MB zipped (Lambda's limits)"
        ),
        reference="Lambda service limits: 250 MB unzipped (function and all layers), "
        "50 MB zipped for a direct upload",
        method=[
            "Function asset: the folder named in `FUNCTIONS[...].asset` without "
            "`__pycache__`, `*.pyc`, `.pytest_cache`, `.mypy_cache` (the CDK's "
            "`ASSET_EXCLUDES`).",
            f"Layer: `python/` holding the locked runtime dependencies (`uv export --frozen "
            f"--no-dev --no-emit-project --no-hashes --no-group cdk`, minus "
            f"{', '.join(sorted(PROVIDED_BY_RUNTIME))}) as manylinux2014 aarch64 CPython 3.12 "
            f"wheels, plus `redfire_core`. Dependencies measured from {origin}: "
            f"`{dependencies.relative_to(REPO_ROOT)}` ({len(requirements)} distributions, "
            "checked against the lock).",
            "Unzipped = sum of file sizes; zipped = a deflate zip of the same tree written here.",
        ],
        tables=[
            Table(
                "Sizes (1 MB = 1,048,576 bytes)",
                [
                    "asset",
                    "files",
                    "unzipped",
                    "zipped",
                    f"zipped <= {ZIPPED_LIMIT_MB} MB",
                    "function + layer, unzipped (% of 250 MB)",
                    f"<= {UNZIPPED_LIMIT_MB} MB",
                ],
                rows,
            ),
            Table(
                f"The layer's {TOP_PACKAGES} largest top-level entries, unzipped",
                ["entry", "MB"],
                [[f"`{name}`", f"{size / MB:.2f}"] for name, size in largest[:TOP_PACKAGES]],
            ),
        ],
        notes=[
            "The Lambda Python runtime's own boto3/botocore (not the locked versions) serve "
            "the functions, since the layer leaves them out.",
            "CDK deploys assets through S3, where only the 250 MB unzipped limit applies; the "
            "50 MB zipped limit matters for a direct upload (e.g. `aws lambda "
            "publish-layer-version --zip-file`).",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)
