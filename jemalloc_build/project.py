"""Facts about a jemalloc-sys source tree: its version and its ``pyproject.toml``, read one way.

The version lives in ``jemalloc_sys/_version.py`` (the runtime's ``__version__``);
the backend, the variants, ``wheel_builder`` and the conda recipe read it here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the sdist's build requirements bring tomli
    import tomli as tomllib

from jemalloc_sys import _names

from .errors import SettingError

ROOT = Path(__file__).resolve().parent.parent
"""The tree this builder came with (a checkout or an unpacked sdist)."""

VERSION_FILE = Path(_names.BASE_PACKAGE, "_version.py")


def version(tree: Path = ROOT) -> str:
    """jemalloc-sys's own version (``5.3.1.0``), from ``jemalloc_sys/_version.py`` of ``tree``."""
    path = tree / VERSION_FILE
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', path.read_text(encoding="utf-8"), re.M)
    if match is None:
        raise SettingError(f"{path} has no __version__ = \"...\"; restore it")
    return match.group(1)


def pyproject(tree: Path = ROOT) -> dict[str, Any]:
    """The parsed ``pyproject.toml`` of ``tree``."""
    data: dict[str, Any] = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    return data


def loads(text: str) -> dict[str, Any]:
    """Parse TOML text (``tomllib``, or ``tomli`` on Python 3.10)."""
    data: dict[str, Any] = tomllib.loads(text)
    return data
