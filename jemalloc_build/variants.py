"""The variant distributions behind the extras, as one table.

pip extras cannot change how a wheel was compiled, so each extra pulls in a
companion distribution that ships a differently built library (the way
``psycopg[binary]`` or ``jax[cuda12]`` work). Variants form a chain, each a
superset of the one before, so any combination of extras has one right answer:
the richest installed variant is the active one.

All variants share one ABI: the same ``_rjem_`` prefix and the same soname
(``libjemalloc_sys.so.2``), so anything linked against the base works with
whichever library is active.

Every variant has its own sdist, so that ``pip install 'jemalloc-sys[profiling]'``
can build the companion from source where no wheel fits. A distribution's name
cannot be dynamic in ``[project]``, so the in-tree backend makes a companion's
sdist (``python -m build --sdist -C variant=profiling``) from the base sdist's
files with the ``pyproject.toml`` of :func:`companion_pyproject` (name, version,
dependency on the base, ``[tool.jemalloc-sys] variant``) and the import package
of :func:`companion_init`. Building that sdist needs nothing special: its
``variant`` setting comes from its own ``pyproject.toml``. The base's extras
(``jemalloc-sys[stats]`` -> ``jemalloc-sys-stats==<same version>``) come from
:func:`extras_require`, passed to setuptools by ``setup.py``.

This module is data plus pure functions; the variant names themselves are
declared once in ``jemalloc_sys/_names.py``, which the runtime reads too.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jemalloc_sys import _names

from . import project
from .errors import SettingError

BASE_DISTRIBUTION = "jemalloc-sys"
BASE_PACKAGE = _names.BASE_PACKAGE


@dataclass(frozen=True, kw_only=True)
class Variant:
    name: str
    features: tuple[str, ...]
    """Features added to the defaults; each variant's set contains the previous one's."""
    summary: str

    @property
    def is_base(self) -> bool:
        return self.name == "base"

    @property
    def distribution(self) -> str:
        return BASE_DISTRIBUTION if self.is_base else f"{BASE_DISTRIBUTION}-{self.name}"

    @property
    def package(self) -> str:
        return BASE_PACKAGE if self.is_base else f"{BASE_PACKAGE}_{self.name}"

    @property
    def extra(self) -> str | None:
        return None if self.is_base else self.name


VARIANTS: tuple[Variant, ...] = (  # in the order of jemalloc_sys._names.VARIANTS (a test checks)
    Variant(name="base", features=(), summary="default features (prefixed, dlopen-safe, no statistics)"),
    Variant(name="stats", features=("stats",), summary="adds statistics: stats.* mallctls, malloc_stats_print"),
    Variant(name="profiling", features=("stats", "profiling"),
            summary="adds heap profiling: prof.* mallctls, .heap dumps, jeprof"),
    Variant(name="debug", features=("stats", "profiling", "debug"),
            summary="adds jemalloc's assertions and debug checks (slow; for finding bugs)"),
)
"""Ordered poorest to richest; the order is the precedence when several are installed."""

BY_NAME: dict[str, Variant] = {v.name: v for v in VARIANTS}


def get(name: str, *, source: str = "variant") -> Variant:
    """The variant called ``name``; a one-line error listing the accepted names otherwise."""
    key = name.strip().lower()
    if key in BY_NAME:
        return BY_NAME[key]
    close = difflib.get_close_matches(key, BY_NAME, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise SettingError(f"{source}={name!r} is not a variant{hint}; accepted: {', '.join(BY_NAME)}")


def extras_require(version: str) -> dict[str, list[str]]:
    """The base's extras: each pins its companion at exactly the base's own version."""
    return {v.name: [f"{v.distribution}=={version}"] for v in VARIANTS if not v.is_base}


def companion_init(variant: Variant, version: str) -> str:
    """Source of a companion's import package: data only, the API stays in ``jemalloc_sys``."""
    return (
        f'"""jemalloc-sys {variant.name} variant: {variant.summary}.\n\n'
        "This package only carries the library; use it through ``jemalloc_sys``, which\n"
        "makes the richest installed variant active (``JEMALLOC_SYS_VARIANT`` picks another).\n"
        '"""\n\n'
        f'__version__ = "{version}"\n'
        f'VARIANT = "{variant.name}"\n'
    )


COMPANION_KEEPS = ("readme", "requires-python", "license", "license-files", "authors", "keywords", "classifiers",
                   "urls")
"""``[project]`` keys a companion takes from the base unchanged."""

COMPANION_KEEPS_TOOLS = ("cibuildwheel",)
"""``[tool]`` tables a companion takes from the base unchanged: cibuildwheel reads its
configuration from the ``pyproject.toml`` of the sdist it builds, so a companion's sdist
must carry the same matrix, repair commands and test command as the base's."""


def companion_pyproject(variant: Variant, base: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The whole ``pyproject.toml`` of a companion's sdist, derived from the base's (a value, written with tomli-w).

    It depends on the base at the same version, so ``pip check`` stays clean in
    both directions and removing the companion leaves a working base; its
    ``[tool.jemalloc-sys] variant`` is what makes a build of its tree build that variant.
    """
    project: dict[str, Any] = {k: base["project"][k] for k in COMPANION_KEEPS if k in base["project"]}
    project.update(name=variant.distribution, version=version,
                   description=f"jemalloc-sys {variant.name} variant: {variant.summary}",
                   dependencies=[f"{BASE_DISTRIBUTION}=={version}"])
    tool: dict[str, Any] = {k: base["tool"][k] for k in COMPANION_KEEPS_TOOLS if k in base.get("tool", {})}
    tool.update({
        "setuptools": {"packages": [variant.package], "include-package-data": False,
                       "package-data": {variant.package: list(PACKAGE_DATA)}},
        "jemalloc-sys": {"variant": variant.name},
    })
    return {"build-system": dict(base["build-system"]), "project": project, "tool": tool}


PACKAGE_DATA = ("py.typed", "*.json", "COPYING.jemalloc", "lib/*", "lib/pkgconfig/*.pc",
                "lib/cmake/jemalloc-sys/*.cmake", "include/jemalloc/*.h", "bin/*")
"""What a built package holds besides Python files (the base's ``pyproject.toml`` lists the same)."""


def setup_kwargs(tree: Path) -> dict[str, Any]:
    """What ``setup.py`` adds for the base: the extras, pinned to the tree's version.

    Only when ``pyproject.toml`` declares ``optional-dependencies`` dynamic (the
    base does; a companion's project has no extras).
    """
    if "optional-dependencies" not in project.pyproject(tree)["project"].get("dynamic", []):
        return {}
    return {"extras_require": extras_require(project.version(tree))}
