"""Real projects for the benchmarks, downloaded once from the package registries
into bench/.corpus and committed to a local git repository each."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def pypi(package: str, root: Path) -> Path:
    """The source distribution of PACKAGE (`name==version`) as a repository."""
    return _fetched(package.replace("==", "-"), root, [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
        "--dest", "{dest}", package])  # fmt: skip


def npm(package: str, root: Path) -> Path:
    """The npm tarball of PACKAGE (`name@version`) as a repository."""
    name = package.lstrip("@").replace("/", "-").replace("@", "-")
    return _fetched(name, root, ["npm", "pack", "--silent", "--pack-destination", "{dest}",
                                 package])  # fmt: skip


def _fetched(name: str, root: Path, command: list[str]) -> Path:
    tree = root / name
    if (tree / ".git").exists():
        return tree
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([part.replace("{dest}", download) for part in command], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        (archive,) = [*Path(download).glob("*.tar.gz"), *Path(download).glob("*.tgz")]
        with tarfile.open(archive) as tar:
            tar.extractall(root / "extract", filter="data")
    (extracted,) = (root / "extract").iterdir()
    shutil.move(str(extracted), tree)
    shutil.rmtree(root / "extract")
    for args in (["init", "-q"], ["add", "-A", "-f"], ["-c", "user.name=bench", "-c",
                 "user.email=bench@localhost", "commit", "-qm", "corpus"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=tree, check=True, stdout=subprocess.DEVNULL)
    return tree
