"""In-tree PEP 517 backend: setuptools, plus jemalloc-sys's settings, sdist bundling and companion sdists.

setuptools ignores config-settings keys it does not know, so ``pip install .
-C features=profiling`` would silently build the default. This thin layer
resolves the settings once per hook -- environment, then ``-C`` config settings,
then ``[tool.jemalloc-sys]`` of this tree's ``pyproject.toml`` -- refuses unknown
keys, and hands the resulting value to our ``build_ext`` (``setuptools_ext.using``).

``build_sdist`` carries the verified jemalloc tarball and a generated
``configure``, so that building from the sdist needs no network and no autoconf.
With ``-C variant=stats`` it writes the sdist of the companion distribution
``jemalloc-sys-stats`` instead: the base sdist's files with the companion's own
``pyproject.toml`` (see ``jemalloc_build.variants``), which then builds like any
project.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from setuptools import build_meta as _setuptools

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jemalloc_build import build, cache, manifest, project, settings, source, variants  # noqa: E402
from jemalloc_build.errors import BuildError, SettingError, report  # noqa: E402
from jemalloc_build.setuptools_ext import using  # noqa: E402

get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable

T = TypeVar("T")


def _split(config_settings: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Config settings: ours (checked by the settings chain) and setuptools' own ``--...`` keys."""
    given = dict(config_settings or {})
    ours = {k: v for k, v in given.items() if not k.startswith("--")}
    theirs = {k: v for k, v in given.items() if k.startswith("--")} or None
    return ours, theirs


def _tree_variant(pyproject: Mapping[str, Any]) -> str:
    return str(pyproject.get("tool", {}).get(settings.PYPROJECT_TABLE, {}).get("variant", "base"))


def _resolve(config_settings: Mapping[str, Any] | None, *, full: bool) -> tuple[settings.BuildSettings,
                                                                                  dict[str, Any] | None]:
    """The settings of this hook, resolved once; ``full`` also asks the compiler (for per-target variables)."""
    ours, theirs = _split(config_settings)
    pyproject = project.pyproject(ROOT)
    environ = os.environ
    resolved = (build.settings_for(environ, ours, pyproject) if full
                else settings.resolve(environ=environ, config_settings=ours, pyproject=pyproject))
    tree = _tree_variant(pyproject)
    if (resolved.variant or "base") != tree:
        raise SettingError(
            f"variant {resolved.variant!r} asked for, but this tree builds the {tree} distribution;"
            f" make the companion's sdist first (python -m build --sdist -C variant={resolved.variant})"
            " and build the wheel from it, or use JEMALLOC_SYS_FEATURES")
    return resolved, theirs


def _guarded(hook: Callable[[], T]) -> T:
    """Run a hook; a BuildError becomes our one-line report and a non-zero exit (pip shows both)."""
    try:
        return hook()
    except BuildError as exc:
        raise SystemExit(report(exc)) from None


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    _, theirs = _guarded(lambda: _resolve(config_settings, full=False))
    return list(_setuptools.get_requires_for_build_wheel(theirs))


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    _, theirs = _guarded(lambda: _resolve(config_settings, full=False))
    return str(_setuptools.prepare_metadata_for_build_wheel(metadata_directory, theirs))


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    resolved, theirs = _guarded(lambda: _resolve(config_settings, full=True))
    with using(resolved, dict(os.environ)):
        return str(_setuptools.build_wheel(wheel_directory, theirs, metadata_directory))


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    resolved, theirs = _guarded(lambda: _resolve(config_settings, full=True))
    with using(resolved, dict(os.environ)):
        return str(_setuptools.build_editable(wheel_directory, theirs, metadata_directory))


def _sdist_variant(config_settings: Mapping[str, Any] | None) -> variants.Variant:
    ours, _ = _split(config_settings)
    chosen = settings.resolve(environ=os.environ, config_settings=ours, pyproject=project.pyproject(ROOT)).variant
    return variants.get(chosen or _tree_variant(project.pyproject(ROOT)))


def get_requires_for_build_sdist(config_settings: dict[str, Any] | None = None) -> list[str]:
    variant = _guarded(lambda: _sdist_variant(config_settings))
    extra = [] if variant.is_base else ["tomli-w"]  # writes the companion's pyproject.toml
    return [*_setuptools.get_requires_for_build_sdist(None), *extra]


def _bundle_source() -> None:
    env = settings.resolve(environ=os.environ)
    source.bundle_for_sdist(manifest=manifest.load(), cache_dir=cache.cache_root(env.cache_dir), environ=os.environ,
                            explicit=env.source if env.source and Path(env.source).is_file() else "")


def _companion_sdist(variant: variants.Variant, sdist_directory: str) -> str:
    """The companion's sdist: the base sdist's files, its own pyproject.toml and import package."""
    import tomli_w

    version = project.version(ROOT)
    with tempfile.TemporaryDirectory(prefix=f"jemalloc-sys-{variant.name}-sdist-") as tmp:
        base_sdist = Path(tmp) / _setuptools.build_sdist(tmp)
        source.safe_extract(base_sdist, Path(tmp), top=base_sdist.name.removesuffix(".tar.gz"), origin="sdist")
        staged = Path(tmp) / base_sdist.name.removesuffix(".tar.gz")
        for name in ("PKG-INFO", "setup.cfg"):
            (staged / name).unlink(missing_ok=True)
        pyproject = variants.companion_pyproject(variant, project.pyproject(ROOT), version)
        (staged / "pyproject.toml").write_text(tomli_w.dumps(pyproject), encoding="utf-8")
        package = staged / variant.package
        package.mkdir()
        (package / "__init__.py").write_text(variants.companion_init(variant, version), encoding="utf-8")
        (package / "py.typed").write_text("", encoding="utf-8")
        # setuptools builds the project in the current folder: the staged tree's, in a child process.
        code = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
        proc = subprocess.run([sys.executable, "-c", code, os.path.abspath(sdist_directory)], cwd=staged,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SettingError(f"building the {variant.distribution} sdist failed (exit {proc.returncode})",
                               detail=proc.stderr[-3000:])
        return proc.stdout.strip().splitlines()[-1]


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    variant = _guarded(lambda: _sdist_variant(config_settings))
    _guarded(_bundle_source)
    if variant.is_base or _tree_variant(project.pyproject(ROOT)) == variant.name:
        return str(_setuptools.build_sdist(sdist_directory, None))
    return _guarded(lambda: _companion_sdist(variant, sdist_directory))
