"""The plug-ins layer of a stage (``plugins`` in its cdk.json settings): strategy, provider
and gateway plug-ins, each a pip requirement (``"rf-meanrev==1.2.0"``) or a local wheel or
project folder (a path relative to the repository root), installed for Lambda like the other
layers (manylinux aarch64 CPython 3.12 wheels only, no Docker).

A plug-in's dependencies come along, held to the versions ``uv.lock`` pins where the lock has
them, less what the functions already get from the ``core`` layer and the runtime (and RedFire
itself): nothing is shipped twice. No aws_cdk import here: the layer test builds it directly.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from redfire_core.resources import CORE_LAYER
from redfire_infra.layer_contents import (
    BUILD_CACHE_DIR,
    PROJECT,
    PROVIDED_BY_RUNTIME,
    REPO_ROOT,
    LayerBuildError,
    LockedPackages,
    Target,
    compile_bytecode,
    layer_distributions,
    normalise,
    prune,
    run,
    uv,
)

PLUGINS_LAYER = "plugins"
_LOCAL_SUFFIXES = (".whl",)


def local_path(entry: str, root: Path = REPO_ROOT) -> Path | None:
    """The wheel or project folder ``entry`` names (relative to ``root``), None for a pip
    requirement string."""
    looks_local = entry.endswith(_LOCAL_SUFFIXES) or entry.startswith((".", "/", "~"))
    candidate = (root / Path(entry).expanduser()).resolve()
    if looks_local or candidate.is_dir():
        if not candidate.exists():
            raise LayerBuildError(f"plug-in {entry!r}: no such wheel or folder ({candidate})")
        return candidate
    return None


def plugins_fingerprint(entries: list[str], root: Path = REPO_ROOT) -> str:
    """Digest of the entries and of every local wheel or folder's files: a changed plug-in
    means a new layer version (a requirement string counts as written: pin its version)."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(entry.encode() + b"\0")
        path = local_path(entry, root)
        if path is None:
            continue
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(str(file.relative_to(path.parent)).encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def already_provided(locked: LockedPackages) -> set[str]:
    """Distributions a plug-in function already has: the core layer's, the runtime's and
    RedFire's own (``redfire_core`` is in the core layer)."""
    return layer_distributions(locked)[CORE_LAYER] | set(PROVIDED_BY_RUNTIME) | {PROJECT}


def install_plugins(entries: list[str], target: Target, root: Path = REPO_ROOT) -> Path:
    """Directory holding the plug-ins of ``entries`` installed for ``target``, cached under
    ``.build/`` by everything that shapes it."""
    fingerprint = plugins_fingerprint(entries, root)
    recipe = f"{target.key}|{target.platform}|{target.python_version}|{target.compile_with}"
    key = hashlib.sha256(f"{recipe}|{fingerprint}".encode()).hexdigest()[:16]
    cached = BUILD_CACHE_DIR / f"{target.key}-{PLUGINS_LAYER}-{key}"
    if cached.is_dir():
        return cached
    locked = LockedPackages.load()
    BUILD_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_CACHE_DIR, prefix="tmp-plugins-") as scratch:
        work = Path(scratch)
        requirements = [_requirement(entry, root, work / "wheels") for entry in entries]
        (work / "requirements.txt").write_text("\n".join(requirements) + "\n")
        # The lock's versions where a plug-in shares a dependency with RedFire.
        (work / "constraints.txt").write_text(
            "".join(
                f"{name}=={version}\n"
                for name, version in sorted(locked.versions.items())
                if version and name != PROJECT
            )
        )
        site_packages = work / "site-packages"
        site_packages.mkdir()
        command = [uv(), "pip", "install", "--quiet", "--target", str(site_packages)]
        if target.platform:
            command += ["--python-platform", target.platform]
        command += ["--python-version", target.python_version, "--only-binary", ":all:"]
        command += ["--no-compile", "-c", str(work / "constraints.txt")]
        command += ["-r", str(work / "requirements.txt")]
        run(command)
        remove_distributions(site_packages, already_provided(locked))
        prune(site_packages)
        if target.compile_with:
            compile_bytecode(site_packages, target.compile_with)
        try:
            site_packages.rename(cached)
        except OSError:  # another build won the race; its result is identical
            if not cached.is_dir():
                raise
    return cached


def _requirement(entry: str, root: Path, wheels: Path) -> str:
    """What pip installs for ``entry``: the requirement string, a wheel's path, or the wheel
    built from a project folder (binary-only installs cannot build one themselves)."""
    path = local_path(entry, root)
    if path is None:
        return entry
    if path.is_file():
        return str(path)
    wheels.mkdir(parents=True, exist_ok=True)
    run([uv(), "build", "--wheel", "--quiet", "--out-dir", str(wheels), str(path)])
    built = sorted(wheels.glob("*.whl"), key=lambda p: p.stat().st_mtime)
    if not built:
        raise LayerBuildError(f"plug-in {entry!r}: building its wheel produced nothing")
    return str(built[-1])


def remove_distributions(site_packages: Path, names: set[str]) -> None:
    """Delete the installed distributions ``names`` (normalised) by their RECORD files."""
    for dist_info in site_packages.glob("*.dist-info"):
        name = normalise(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if name not in names:
            continue
        record = dist_info / "RECORD"
        for line in record.read_text().splitlines() if record.is_file() else ():
            relative = line.rsplit(",", 2)[0]
            path = (site_packages / relative).resolve()
            if path.is_relative_to(site_packages.resolve()) and path.is_file():
                path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
    for folder in sorted(site_packages.rglob("*"), key=lambda p: -len(p.parts)):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
