"""Stage the pure-Python part of jemalloc-sys for the conda ``jemalloc-sys`` output.

In conda the library is its own package (``libjemalloc-sys``) and the Python
package must not carry a second copy, so this output is built from a staged
tree holding only ``jemalloc_sys/`` and a plain setuptools ``pyproject.toml``
derived from the real one (same name, version, entry points): pip then makes a
pure wheel and installs it with proper metadata, and nothing compiles here.

Usage: python stage_python_package.py SOURCE_TREE STAGE_DIR
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import tomllib

# Files the pip build adds to the package; in conda they live in the prefix instead.
NATIVE = ("lib", "include", "bin", "_build_record.json", "COPYING.jemalloc", "__pycache__")


def _version(src: Path) -> str:
    text = (src / "jemalloc_sys" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if match is None:
        raise SystemExit(f"error: no __version__ in {src / 'jemalloc_sys' / '_version.py'}")
    return match.group(1)


def _toml(value: object) -> str:
    # JSON strings and lists of strings are valid TOML basic strings and arrays.
    return json.dumps(value)


def pyproject(src: Path) -> str:
    project = tomllib.loads((src / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [
        "[build-system]",
        'requires = ["setuptools>=77"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f"name = {_toml(project['name'])}",
        f"version = {_toml(_version(src))}",
        f"description = {_toml(project['description'])}",
        f"requires-python = {_toml(project['requires-python'])}",
        f"license = {_toml(project['license'])}",
        "",
        "[project.scripts]",
        *(f"{_toml(name)} = {_toml(target)}" for name, target in project.get("scripts", {}).items()),
        "",
        "[tool.setuptools.packages.find]",
        'include = ["jemalloc_sys", "jemalloc_sys.*"]',
        "",
        "[tool.setuptools.package-data]",
        '"*" = ["py.typed", "*.json", "*.txt"]',
        "",
    ]
    return "\n".join(lines)


def stage(src: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src / "jemalloc_sys", dest / "jemalloc_sys", ignore=shutil.ignore_patterns(*NATIVE))
    (dest / "pyproject.toml").write_text(pyproject(src), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python stage_python_package.py SOURCE_TREE STAGE_DIR")
    stage(Path(sys.argv[1]), Path(sys.argv[2]))
