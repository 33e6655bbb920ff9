"""The variant distributions behind the extras, as one table.

pip extras cannot change how a wheel was compiled, so each extra pulls in a
companion distribution that ships a differently built library (the way
``psycopg[binary]`` or ``jax[cuda12]`` work). Variants form a chain, each a
superset of the one before, so any combination of extras has one right answer:
the richest installed variant is the active one.

All variants share one ABI: the same ``_rjem_`` prefix and the same soname
(``libjemalloc_sys.so.2``), so anything linked against the base works with
whichever library is active.

How one sdist makes several distributions: a distribution's name cannot be
dynamic in ``[project]``, so the in-tree backend (``_backend``) builds a
companion from a *staged copy* of the unpacked sdist whose ``pyproject.toml``
is rewritten by :func:`companion_pyproject` (name, package, dependencies) and
which holds a generated import package (:func:`companion_init`). The builder,
the source and the build cache are the same ones the base uses. The base's
extras (``jemalloc-sys[stats]`` -> ``jemalloc-sys-stats==<same version>``) come
from :func:`extras_require`, passed to setuptools by ``setup.py``.

This module is data plus pure functions; the runtime package keeps its own
copy of the names (it cannot import the builder, which is not installed) and a
test checks the two agree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from .errors import SettingError

BASE_DISTRIBUTION = "jemalloc-sys"
BASE_PACKAGE = "jemalloc_sys"
BUILD_VARIANT_ENV = "JEMALLOC_SYS_BUILD_VARIANT"
"""Build-time choice of the variant (``-C variant=NAME`` does the same); distinct from the runtime selector."""
RUNTIME_VARIANT_ENV = "JEMALLOC_SYS_VARIANT"
"""Run-time choice among the installed variants (read by ``jemalloc_sys._record``)."""


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


VARIANTS: tuple[Variant, ...] = (
    Variant(name="base", features=(), summary="default features (prefixed, dlopen-safe, no statistics)"),
    Variant(name="stats", features=("stats",), summary="adds statistics: stats.* mallctls, malloc_stats_print"),
    Variant(name="profiling", features=("stats", "profiling"),
            summary="adds heap profiling: prof.* mallctls, .heap dumps, jeprof"),
    Variant(name="debug", features=("stats", "profiling", "debug"),
            summary="adds jemalloc's assertions and debug checks (slow; for finding bugs)"),
)
"""Ordered poorest to richest; the order is the precedence when several are installed."""

BY_NAME: dict[str, Variant] = {v.name: v for v in VARIANTS}


def get(name: str, *, source: str = BUILD_VARIANT_ENV) -> Variant:
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


def merged_features(variant: Variant, *user: str) -> str:
    """The ``JEMALLOC_SYS_FEATURES`` value for a variant build: the variant's features, then the user's."""
    seen: list[str] = []
    for part in (*variant.features, *user):
        for item in part.replace(" ", ",").split(","):
            if item.strip() and item.strip() not in seen:
                seen.append(item.strip())
    return ",".join(seen)


def check_built(variant: Variant, features: list[str] | frozenset[str]) -> None:
    """Refuse to package a companion whose library lacks the variant's features.

    ``-feature`` in the user's settings could remove one; a ``jemalloc-sys-stats``
    without statistics would be a lie that no later check would catch.
    """
    missing = [f for f in variant.features if f not in features]
    if missing:
        raise SettingError(
            f"variant {variant.name!r} needs features {', '.join(missing)} but the build has"
            f" {', '.join(sorted(features)) or 'none'}; do not remove them with JEMALLOC_SYS_FEATURES"
        )


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


def companion_project(variant: Variant, base: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The ``[project]`` table of a companion, derived from the base's.

    It depends on the base at the same version, so ``pip check`` stays clean in
    both directions and removing the companion leaves a working base.
    """
    keep = ("description", "readme", "requires-python", "license", "license-files", "authors", "keywords",
            "classifiers", "urls")
    project: dict[str, Any] = {k: base[k] for k in keep if k in base}
    project["name"] = variant.distribution
    project["version"] = version
    project["description"] = f"jemalloc-sys {variant.name} variant: {variant.summary}"
    project["dependencies"] = [f"{BASE_DISTRIBUTION}=={version}"]
    return project


def companion_pyproject(variant: Variant, base: Mapping[str, Any], version: str) -> str:
    """Full ``pyproject.toml`` text for a companion's staged tree."""
    tables: list[tuple[str, dict[str, Any]]] = [
        ("build-system", dict(base["build-system"])),
        ("project", companion_project(variant, base["project"], version)),
        ("tool.setuptools", {"packages": [variant.package], "include-package-data": False}),
        ("tool.setuptools.package-data",
         {variant.package: ["py.typed", "*.json", "COPYING.jemalloc", "lib/*", "include/jemalloc/*.h", "bin/*"]}),
    ]
    urls = tables[1][1].pop("urls", None)
    if urls:
        tables.insert(2, ("project.urls", dict(urls)))
    return "\n".join(f"[{name}]\n{_toml_body(body)}" for name, body in tables)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else _toml_value(key)


def _toml_body(body: Mapping[str, Any]) -> str:
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in body.items())


def setup_kwargs(tree: Path) -> dict[str, Any]:
    """What ``setup.py`` adds for the base: the extras, pinned to the version in ``jemalloc_sys/_version.py``.

    Only when ``pyproject.toml`` declares ``optional-dependencies`` dynamic (the
    base does; a companion's staged project has no extras).
    """
    project = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if "optional-dependencies" not in project.get("dynamic", []):
        return {}
    text = (tree / BASE_PACKAGE / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if match is None:
        raise SettingError(f"{tree / BASE_PACKAGE / '_version.py'} has no __version__ = \"...\"; restore it")
    return {"extras_require": extras_require(match.group(1))}
