"""In-tree PEP 517 backend: setuptools, plus jemalloc-sys's ``-C`` settings and sdist bundling.

setuptools ignores config-settings keys it does not know, so ``pip install .
-C features=profiling`` would silently build the default. This thin layer checks
the keys first (a typo is an error, not a default build), hands them to our
``build_ext`` through one environment variable, and makes ``build_sdist`` carry
the verified jemalloc tarball and a generated ``configure`` so that building
from the sdist needs no network and no autoconf.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jemalloc_build import cache, manifest, settings, source  # noqa: E402
from jemalloc_build.errors import BuildError  # noqa: E402
from jemalloc_build.setuptools_ext import CONFIG_SETTINGS_ENV  # noqa: E402

get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable


def _ours(config_settings: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Split config settings into ours (validated) and setuptools' own ``--...`` keys."""
    config_settings = dict(config_settings or {})
    mine = {k: v for k, v in config_settings.items() if not k.startswith("--")}
    theirs = {k: v for k, v in config_settings.items() if k.startswith("--")} or None
    try:
        settings.resolve(environ={}, config_settings=mine)
    except BuildError as exc:
        raise SystemExit(f"error: {exc}") from None
    return mine, theirs


def _with_settings(config_settings: dict[str, Any] | None) -> dict[str, Any] | None:
    mine, theirs = _ours(config_settings)
    os.environ[CONFIG_SETTINGS_ENV] = json.dumps(mine)
    return theirs


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    return list(_setuptools.get_requires_for_build_wheel(_with_settings(config_settings)))


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    return str(_setuptools.prepare_metadata_for_build_wheel(metadata_directory, _with_settings(config_settings)))


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    return str(_setuptools.build_wheel(wheel_directory, _with_settings(config_settings), metadata_directory))


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    return str(_setuptools.build_editable(wheel_directory, _with_settings(config_settings), metadata_directory))


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    env = settings.resolve()
    try:
        source.bundle_for_sdist(manifest=manifest.load(), cache_dir=cache.cache_root(env.cache_dir),
                                explicit=env.source if env.source and Path(env.source).is_file() else "")
    except BuildError as exc:
        raise SystemExit(f"error: {exc}") from None
    return str(_setuptools.build_sdist(sdist_directory, config_settings))
