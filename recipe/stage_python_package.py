"""Stage the pure-Python part of jemalloc-sys for the conda ``jemalloc-sys`` output.

In conda the library is its own package (``libjemalloc-sys``) and the Python
package must not carry a second copy, so this output is built from a staged
tree holding only ``jemalloc_sys/`` and a plain setuptools ``pyproject.toml``
derived from the real one (same name, version, entry points): pip then makes a
pure wheel and installs it with proper metadata, and nothing compiles here.
The version and ``pyproject.toml`` are read the builder's one way
(``jemalloc_build.project``, from the source tree) and written with tomli-w.

Usage: python stage_python_package.py SOURCE_TREE STAGE_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

# Files the pip build adds to the package; in conda they live in the prefix instead.
NATIVE = ("lib", "include", "bin", "_build_record.json", "COPYING.jemalloc", "__pycache__")

KEPT = ("name", "description", "requires-python", "license", "scripts")
"""``[project]`` keys the Python-only package takes from the real one; its version comes from the tree."""


def pyproject(src: Path) -> dict[str, Any]:
    """The staged package's ``pyproject.toml``, as a value."""
    sys.path.insert(0, str(src))
    from jemalloc_build import project

    real = project.pyproject(src)["project"]
    return {
        "build-system": {"requires": ["setuptools>=77"], "build-backend": "setuptools.build_meta"},
        "project": {**{k: real[k] for k in KEPT if k in real}, "version": project.version(src)},
        "tool": {"setuptools": {"packages": {"find": {"include": ["jemalloc_sys", "jemalloc_sys.*"]}},
                                "package-data": {"*": ["py.typed", "*.json", "*.txt"]}}},
    }


def stage(src: Path, dest: Path) -> None:
    import tomli_w

    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src / "jemalloc_sys", dest / "jemalloc_sys", ignore=shutil.ignore_patterns(*NATIVE))
    (dest / "pyproject.toml").write_text(tomli_w.dumps(pyproject(src)), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python stage_python_package.py SOURCE_TREE STAGE_DIR")
    stage(Path(sys.argv[1]), Path(sys.argv[2]))
