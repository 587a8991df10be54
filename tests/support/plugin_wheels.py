"""A wheel built from a fixture plug-in project (tests/fixtures/plugins/*) without a build
backend or the network: the metadata its pyproject.toml declares and its package's files,
zipped as a pure-Python wheel (what ``uv build`` would make of it)."""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


def build_wheel(project: Path, out_dir: Path) -> Path:
    """The wheel of ``project`` (its one package folder named like the distribution)."""
    declared = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    name, version = declared["name"], declared["version"]
    stem = f"{name.replace('-', '_')}-{version}"
    files: dict[str, bytes] = {}
    package = project / name.replace("-", "_")
    for path in sorted(package.rglob("*.py")):
        files[str(path.relative_to(project))] = path.read_bytes()
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {requirement}" for requirement in declared["dependencies"]]
    files[f"{stem}.dist-info/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{stem}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    groups = declared.get("entry-points", {})
    files[f"{stem}.dist-info/entry_points.txt"] = "".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())
        for group, entries in groups.items()
    ).encode()
    record = [f"{path},sha256={_digest(content)},{len(content)}" for path, content in files.items()]
    files[f"{stem}.dist-info/RECORD"] = (
        "\n".join([*record, f"{stem}.dist-info/RECORD,,"]) + "\n"
    ).encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return wheel


def _digest(content: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
