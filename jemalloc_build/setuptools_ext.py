"""setuptools glue: a ``build_ext`` that runs the builder and places its output in the package.

The wheel is tagged ``py3-none-<platform>``: the library does not depend on the
Python version, so one wheel serves every CPython (the way the ``cmake`` and
``ninja`` wheels do).

Settings arrive as a value: the PEP 517 backend resolves them once and runs
setuptools inside :func:`using`, which hands them to :class:`BuildJemalloc`
through a context variable (setuptools runs ``setup.py`` in the backend's own
thread). A direct ``python setup.py build_ext`` has no backend around it and
resolves them from its environment instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from setuptools import Distribution
from setuptools.command.build_ext import build_ext

from jemalloc_sys import _names

from . import build as build_mod
from . import link_files, mallctl_types, project
from .errors import BuildError, report
from .settings import BuildSettings

PACKAGE = _names.BASE_PACKAGE


@dataclass(frozen=True)
class BuildRequest:
    """What the backend resolved: the settings and the environment the build runs in."""

    settings: BuildSettings
    environ: Mapping[str, str]


_CURRENT: contextvars.ContextVar[BuildRequest] = contextvars.ContextVar("jemalloc_sys_build_request")


@contextlib.contextmanager
def using(settings: BuildSettings, environ: Mapping[str, str]) -> Iterator[None]:
    """Run setuptools with these settings (the backend wraps every hook that may build)."""
    token = _CURRENT.set(BuildRequest(settings, dict(environ)))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _request() -> BuildRequest:
    try:
        return _CURRENT.get()
    except LookupError:  # `python setup.py build_ext`, no backend: this entry point reads its environment
        environ = dict(os.environ)
        return BuildRequest(build_mod.settings_for(environ, pyproject=project.pyproject()), environ)


class BinaryDistribution(Distribution):
    """A distribution with a platform library and no Python extension module."""

    def has_ext_modules(self) -> bool:
        return True


def install_into(package_dir: Path, results: dict[str, build_mod.BuildResult]) -> list[Path]:
    """Copy built libraries, header, license and the record into ``package_dir``; return the files."""
    main = results["inprocess"]
    lib_dir = package_dir / "lib"
    if lib_dir.exists():
        shutil.rmtree(lib_dir)
    include_dir = package_dir / "include"
    if include_dir.exists():
        shutil.rmtree(include_dir)
    lib_dir.mkdir(parents=True)
    written: list[Path] = []

    def copy(src: Path, dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        shutil.copymode(src, dst)
        written.append(dst)

    record: dict[str, Any] = dict(main.record)
    for flavour, result in results.items():
        copy(result.library, lib_dir / result.library.name)
        for extra in result.record.get("extra_libraries") or ():
            copy(result.root / "lib" / extra, lib_dir / extra)
        if flavour != "inprocess":
            record[flavour] = {k: result.record[k] for k in ("library", "features", "symbol_prefix", "tls_model",
                                                             "configure_args", "malloc_conf")}
    # The -l linker script, pkg-config file and CMake package config (link_files.py).
    written += link_files.install_link_files(package_dir, main.record)
    copy(main.root / "include" / "jemalloc" / "jemalloc.h", include_dir / "jemalloc" / "jemalloc.h")
    copy(main.root / "COPYING", package_dir / "COPYING.jemalloc")
    if (main.root / mallctl_types.FILE_NAME).is_file():
        copy(main.root / mallctl_types.FILE_NAME, package_dir / mallctl_types.FILE_NAME)
    for name, script in build_mod.jeprof_scripts(results).items():
        copy(script, package_dir / "bin" / name)
    record_path = package_dir / _names.RECORD_NAME
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(record_path)
    return written


STARTUP_PTH = "jemalloc_sys_pyframes.pth"
"""A start-up hook at the root of site-packages (as coverage.py ships one): Python runs its ``import``
line in every interpreter of the environment. It costs one dictionary lookup unless ``jemalloc-sys run
--profile`` set the variable, and then starts the Python-frames hook (:mod:`jemalloc_sys.pyframes`)."""

STARTUP_LINE = ("import os; os.environ.get('JEMALLOC_SYS_PYFRAMES') == '1' and"
                " __import__('jemalloc_sys.pyframes').pyframes.start_from_environment()\n")


class BuildJemalloc(build_ext):
    """``build_ext`` for a package whose only native part is jemalloc."""

    def run(self) -> None:
        try:
            request = _request()
            results = build_mod.build_all(request.settings, environ=request.environ)
        except BuildError as exc:
            raise SystemExit(report(exc)) from None
        # A companion distribution (jemalloc-sys-stats, ...) declares its own package; see variants.py.
        package = (self.distribution.packages or [PACKAGE])[0]
        targets = [Path(self.build_lib) / package]
        if self.inplace:
            targets = [project.ROOT / package]
        self._outputs = [str(p) for target in targets for p in install_into(target, results)]
        if package == PACKAGE and not self.inplace:
            startup = Path(self.build_lib) / STARTUP_PTH
            startup.write_text(STARTUP_LINE, encoding="utf-8")
            self._outputs.append(str(startup))

    def get_outputs(self) -> list[str]:
        return list(getattr(self, "_outputs", []))


def cmdclass() -> dict[str, Any]:
    from setuptools.command.bdist_wheel import bdist_wheel

    class BdistWheel(bdist_wheel):
        def get_tag(self) -> tuple[str, str, str]:
            _, _, plat = super().get_tag()
            return "py3", "none", plat

        def write_wheelfile(self, wheelfile_base: str, *args: Any, **kwargs: Any) -> None:
            """Also write the PEP 770 SBOM of the bundled jemalloc into ``.dist-info/sboms/``."""
            super().write_wheelfile(wheelfile_base, *args, **kwargs)
            from . import manifest, sbom

            package = (self.distribution.packages or [PACKAGE])[0]
            record_path = Path(wheelfile_base).parent / package / _names.RECORD_NAME
            if record_path.is_file():
                out = Path(wheelfile_base) / "sboms" / sbom.SBOM_NAME
                out.parent.mkdir(exist_ok=True)
                out.write_text(sbom.render(manifest.load(), json.loads(record_path.read_text(encoding="utf-8")),
                                           distribution=self.distribution.get_name(),
                                           version=self.distribution.get_version()), encoding="utf-8")

    return {"build_ext": BuildJemalloc, "bdist_wheel": BdistWheel}
