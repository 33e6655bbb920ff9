"""The build record: what was built, how, and where the files are.

Written by the builder next to the library, read here without loading anything,
so that ``features()`` and ``build_info()`` are cheap and work even when the
library cannot be loaded into this process.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
RECORD_NAME = "_build_record.json"


class NotBuiltError(RuntimeError):
    """The package has no built library (a source checkout that was never built)."""


@functools.lru_cache(maxsize=None)
def record() -> dict[str, Any]:
    path = PACKAGE_DIR / RECORD_NAME
    if not path.is_file():
        raise NotBuiltError(
            f"jemalloc_sys has no built library ({path} is missing); install it with pip"
            " (pip install jemalloc-sys) or build this checkout (pip install -e .)"
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def library_dir() -> Path:
    return PACKAGE_DIR / "lib"


def include_dir() -> Path:
    return PACKAGE_DIR / "include"
