"""In-tree PEP 517 backend: setuptools, plus jemalloc-sys's ``-C`` settings and sdist bundling.

setuptools ignores config-settings keys it does not know, so ``pip install .
-C features=profiling`` would silently build the default. This thin layer checks
the keys first (a typo is an error, not a default build), hands them to our
``build_ext`` through one environment variable, and makes ``build_sdist`` carry
the verified jemalloc tarball and a generated ``configure`` so that building
from the sdist needs no network and no autoconf.

``-C variant=stats`` (or ``JEMALLOC_SYS_BUILD_VARIANT=stats``) builds the
companion distribution ``jemalloc-sys-stats`` instead of the base, from a staged
copy of this tree with a rewritten project table (see ``jemalloc_build.variants``
for why a staged copy: ``[project] name`` cannot be dynamic).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jemalloc_build import cache, manifest, settings, source, variants  # noqa: E402
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


def _variant(config_settings: dict[str, Any] | None) -> tuple[variants.Variant, dict[str, Any] | None]:
    """Take ``variant`` out of the config settings (it is not a build setting); env var wins, as for settings."""
    rest = dict(config_settings or {})
    raw, source_name = rest.pop("variant", None), "config setting variant"
    if os.environ.get(variants.BUILD_VARIANT_ENV):
        raw, source_name = os.environ[variants.BUILD_VARIANT_ENV], variants.BUILD_VARIANT_ENV
    try:
        chosen = variants.get(str(raw or "base"), source=source_name)
    except BuildError as exc:
        raise SystemExit(f"error: {exc}") from None
    return chosen, rest


def _version(tree: Path) -> str:
    text = (tree / variants.BASE_PACKAGE / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if match is None:
        raise SystemExit(f"error: no __version__ in {tree / variants.BASE_PACKAGE / '_version.py'}")
    return match.group(1)


@contextlib.contextmanager
def _in_variant_tree(variant: variants.Variant) -> Iterator[None]:
    """Run a setuptools hook in the tree of ``variant`` (the base: this tree; a companion: a staged copy)."""
    if variant.is_base:
        yield
        return
    import tomllib  # the builder needs Python 3.11+ anyway (jemalloc_build.manifest)

    version = _version(ROOT)
    base = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    old_cwd, old_features = Path.cwd(), os.environ.get("JEMALLOC_SYS_FEATURES")
    with tempfile.TemporaryDirectory(prefix=f"jemalloc-sys-{variant.name}-") as tmp:
        staged = Path(tmp) / "src"
        staged.mkdir()
        for name in ("jemalloc_build", "_backend", "vendor"):
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, staged / name, ignore=shutil.ignore_patterns("__pycache__", "source"))
        for name in ("setup.py", "README.md", "LICENSE"):
            shutil.copy2(ROOT / name, staged / name)
        (staged / "pyproject.toml").write_text(variants.companion_pyproject(variant, base, version), encoding="utf-8")
        package = staged / variant.package
        package.mkdir()
        (package / "__init__.py").write_text(variants.companion_init(variant, version), encoding="utf-8")
        (package / "py.typed").write_text("", encoding="utf-8")
        os.environ["JEMALLOC_SYS_FEATURES"] = variants.merged_features(variant, old_features or "")
        os.chdir(staged)
        try:
            yield
        finally:
            os.chdir(old_cwd)
            if old_features is None:
                os.environ.pop("JEMALLOC_SYS_FEATURES", None)
            else:
                os.environ["JEMALLOC_SYS_FEATURES"] = old_features


def _features_setting(variant: variants.Variant, config_settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """Fold ``-C features=...`` into the variant's env value so the variant's features cannot be dropped by it."""
    if variant.is_base or not config_settings or "features" not in config_settings:
        return config_settings
    rest = dict(config_settings)
    user = rest.pop("features")
    os.environ["JEMALLOC_SYS_FEATURES"] = variants.merged_features(
        variant, os.environ.get("JEMALLOC_SYS_FEATURES", ""), ",".join(user) if isinstance(user, list) else str(user))
    return rest


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    _, rest = _variant(config_settings)
    return list(_setuptools.get_requires_for_build_wheel(_with_settings(rest)))


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    variant, rest = _variant(config_settings)
    with _in_variant_tree(variant):
        rest = _features_setting(variant, rest)
        return str(_setuptools.prepare_metadata_for_build_wheel(metadata_directory, _with_settings(rest)))


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    variant, rest = _variant(config_settings)
    wheel_directory = os.path.abspath(wheel_directory)
    if metadata_directory is not None:
        metadata_directory = os.path.abspath(metadata_directory)
    with _in_variant_tree(variant):
        rest = _features_setting(variant, rest)
        return str(_setuptools.build_wheel(wheel_directory, _with_settings(rest), metadata_directory))


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
