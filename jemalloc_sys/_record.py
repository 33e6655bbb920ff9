"""The build record: what was built, how, and where the files are; and which variant is active.

Written by the builder next to the library, read here without loading anything,
so that ``features()`` and ``build_info()`` are cheap and work even when the
library cannot be loaded into this process.

Variants: ``jemalloc-sys[stats]`` (and ``[profiling]``, ``[debug]``) install a
companion package ``jemalloc_sys_<variant>`` holding a differently built library
with the same ABI. The active variant is the richest installed one unless
``JEMALLOC_SYS_VARIANT`` names another; every path and fact this module returns
follows it, so ``load()``, ``library_path()``, ``get_include()``, ``features()``
and the tools built on them agree without each knowing about variants.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Any

from ._names import PREFIX_DATA as _PREFIX_DATA
from ._names import PREFIX_RECORD_NAME, RECORD_NAME, VARIANT_ENV, VARIANTS
from ._version import __version__
from .errors import NotBuiltError, VariantError

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
"""The base package (``jemalloc_sys``) itself; the active variant's folder is :func:`package_dir`."""


def _companion_dir(name: str) -> Path | None:
    """Folder of ``jemalloc_sys_<name>`` if it is installed, complete and of our version; None otherwise."""
    module_name = f"jemalloc_sys_{name}"
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return None  # absent, or a stray namespace folder that is not a companion
    folder = Path(spec.origin).resolve().parent
    if not (folder / RECORD_NAME).is_file():
        log.warning("ignoring %s at %s: it has no %s (reinstall it)", module_name, folder, RECORD_NAME)
        return None
    version = getattr(importlib.import_module(module_name), "__version__", None)
    if version != __version__:
        log.warning("ignoring %s %s: it does not match jemalloc-sys %s; pip install 'jemalloc-sys[%s]==%s'",
                    module_name, version, __version__, name, __version__)
        return None
    return folder


PREFIX_DATA = Path(*_PREFIX_DATA)
"""Where ``python -m jemalloc_build install`` (the conda recipe) puts the record, relative to the prefix."""


@functools.cache
def prefix_data_dir() -> Path | None:
    """``<prefix>/share/jemalloc-sys`` when this package was installed without a library of its own (conda).

    conda ships the library as its own package (``libjemalloc-sys``) into the
    environment (``<prefix>``; ``<prefix>/Library`` on Windows) and the Python
    package carries no copy, so it looks a few folders above itself
    (``<prefix>/lib/pythonX.Y/site-packages/jemalloc_sys``) for the record that
    package installed. That folder then plays the part of :func:`package_dir`
    and the record's ``layout`` leads from it to ``lib/``, ``include/``, ``bin/``.
    """
    if (PACKAGE_DIR / RECORD_NAME).is_file():
        return None
    for parent in list(PACKAGE_DIR.parents)[:4]:
        for root in (parent, parent / "Library"):
            if (root / PREFIX_DATA / PREFIX_RECORD_NAME).is_file():
                return root / PREFIX_DATA
    return None


def installed_variants() -> dict[str, Path]:
    """Every usable variant, poorest first: name -> package folder (``base`` is always there)."""
    data_dir = prefix_data_dir()
    if data_dir is not None:
        # conda: exactly one library package per environment (the variant mutex), named in its record.
        prefix_record = json.loads((data_dir / PREFIX_RECORD_NAME).read_text(encoding="utf-8"))
        return {str(prefix_record.get("variant") or "base"): data_dir}
    found = {"base": PACKAGE_DIR}
    for name in VARIANTS[1:]:
        folder = _companion_dir(name)
        if folder is not None:
            found[name] = folder
    return found


@functools.cache
def active() -> tuple[str, Path]:
    """The active variant and its folder: ``JEMALLOC_SYS_VARIANT`` if set, else the richest installed."""
    installed = installed_variants()
    raw = os.environ.get(VARIANT_ENV, "").strip()
    if not raw:
        name = [v for v in VARIANTS if v in installed][-1]
        return name, installed[name]
    name = raw.lower()
    if name not in VARIANTS:
        raise VariantError(f"{VARIANT_ENV}={raw!r} is not a variant; accepted: {', '.join(VARIANTS)}"
                           " (or unset it to use the richest installed)")
    if name not in installed:
        raise VariantError(f"{VARIANT_ENV}={raw!r} but jemalloc-sys-{name} is not installed (installed:"
                           f" {', '.join(installed)}); pip install 'jemalloc-sys[{name}]=={__version__}'"
                           f" or unset {VARIANT_ENV}")
    return name, installed[name]


def variant() -> str:
    return active()[0]


def package_dir() -> Path:
    """Folder of the active variant's package: ``lib/``, ``include/``, ``bin/``, the record."""
    return active()[1]


@functools.cache
def record() -> dict[str, Any]:
    name, folder = active()
    path = folder / (PREFIX_RECORD_NAME if folder == prefix_data_dir() else RECORD_NAME)
    if not path.is_file():
        raise NotBuiltError(
            f"jemalloc_sys has no built library ({path} is missing); install it with pip"
            " (pip install jemalloc-sys) or build this checkout (pip install -e .)"
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data["variant"] = name
    return data


def _layout(key: str) -> str:
    """Folder of ``key`` under :func:`package_dir`; a prefix install's record says where (``layout``)."""
    layout: dict[str, str] = record().get("layout") or {}
    return layout.get(key, key)


def library_dir() -> Path:
    return Path(os.path.normpath(package_dir() / _layout("lib")))


def include_dir() -> Path:
    return Path(os.path.normpath(package_dir() / _layout("include")))
