"""Install a finished build into a prefix (``$PREFIX``, ``%LIBRARY_PREFIX%``, ``/usr/local``).

The conda recipe packages the library this way instead of running a second,
hand-written ``configure && make install``: the files come from the very cache
entry ``build_jemalloc`` produced for the wheels, so both channels ship the same
library. The layout is one table, :data:`LAYOUT`, relative to the prefix:

- ``lib/`` the shared library and, on ELF systems, the development symlink
  ``libjemalloc_sys.so`` (``-ljemalloc_sys``); DLLs go to ``bin/`` (Windows'
  search path) next to nothing else;
- ``include/jemalloc_sys/jemalloc/jemalloc.h``: one folder deeper than usual so
  that our ``_rjem_``-prefixed header never collides with another jemalloc's
  ``include/jemalloc/jemalloc.h`` in the same environment (conda-forge's
  ``jemalloc`` package installs exactly that path); consumers still write
  ``#include <jemalloc/jemalloc.h>`` and get ``-I`` from pkg-config;
- ``share/jemalloc-sys/``: the build record (read by the ``jemalloc_sys`` Python
  package to find this library instead of carrying its own copy), the license
  and the mallctl type table; for profiling builds ``jeprof`` goes to ``bin/``;
- ``lib/pkgconfig/jemalloc-sys.pc`` from :mod:`jemalloc_build.link_files` (the
  generator the wheels use), relocatable through ``${pcfiledir}``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jemalloc_sys import _names

from . import build as build_mod
from . import link_files, mallctl_types
from .build import BuildResult

log = logging.getLogger(__name__)

RECORD_NAME = _names.PREFIX_RECORD_NAME
"""Name of the record under ``share/jemalloc-sys/``; ``jemalloc_sys._record`` looks for it."""


@dataclass(frozen=True, kw_only=True)
class Layout:
    lib: str
    bin: str
    include: str
    share: str
    pkgconfig: str


LAYOUT = Layout(
    lib="lib",
    bin="bin",
    include="include/jemalloc_sys",
    share="/".join(_names.PREFIX_DATA),
    pkgconfig="lib/pkgconfig",
)


@dataclass(frozen=True, kw_only=True)
class Installed:
    files: list[Path]
    record: dict[str, Any]


def _library_folder(name: str) -> str:
    # Windows finds DLLs on PATH (conda puts %LIBRARY_PREFIX%\bin there); import libraries stay in lib/.
    return LAYOUT.bin if name.endswith(".dll") else LAYOUT.lib


def _dev_link(name: str) -> str | None:
    """``libjemalloc_sys.so`` for ``libjemalloc_sys.so.2`` (what ``-ljemalloc_sys`` opens); macOS likewise."""
    if name.endswith(".so.2"):
        return name.removesuffix(".2")
    if name.endswith(".2.dylib"):
        return name.removesuffix(".2.dylib") + ".dylib"
    return None


def build_and_install(prefix: Path, *, variant: str = "", environ: Mapping[str, str]) -> Installed:
    """Build (or reuse) every flavour for the settings of ``environ`` and ``variant``, then install.

    ``variant`` is a name from :mod:`jemalloc_build.variants` (the table the wheels
    use), so the conda recipe names a variant and never lists features itself.
    """
    from . import build as build_mod
    from . import variants

    if variant:
        variants.get(variant, source="--variant")  # named as the command line spells it
    settings = build_mod.settings_for(environ, {"variant": variant} if variant else None)
    results = build_mod.build_all(settings, environ=environ)
    return install(results, prefix, variant=settings.variant or None)


def _rewrite_record(prefix: Path, record: dict[str, Any]) -> None:
    path = prefix / LAYOUT.share / RECORD_NAME
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def install(results: dict[str, BuildResult], prefix: Path, *, variant: str | None = None) -> Installed:
    """Copy every built flavour, the header, license and record into ``prefix``; return what was written."""
    main = results["inprocess"]
    written: list[Path] = []

    def copy(src: Path, rel: str) -> Path:
        dst = prefix / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        shutil.copyfile(src, dst)
        shutil.copymode(src, dst)
        written.append(dst)
        log.debug("installed %s", dst)
        return dst

    for result in results.values():
        name = result.library.name
        copy(result.library, f"{_library_folder(name)}/{name}")
        for extra in result.record.get("extra_libraries") or ():
            copy(result.root / "lib" / extra, f"{_library_folder(extra)}/{extra}")
        implib = result.library.with_suffix(".lib")
        if implib.is_file():
            copy(implib, f"{LAYOUT.lib}/{implib.name}")
    link = _dev_link(main.library.name)
    if link is not None:
        dst = prefix / LAYOUT.lib / link
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        os.symlink(main.library.name, dst)
        written.append(dst)
    copy(main.root / "include" / "jemalloc" / "jemalloc.h", f"{LAYOUT.include}/jemalloc/jemalloc.h")
    copy(main.root / "COPYING", f"{LAYOUT.share}/COPYING.jemalloc")
    if (main.root / mallctl_types.FILE_NAME).is_file():
        copy(main.root / mallctl_types.FILE_NAME, f"{LAYOUT.share}/{mallctl_types.FILE_NAME}")
    for name, script in build_mod.jeprof_scripts(results).items():
        copy(script, f"{LAYOUT.bin}/{name}")

    record: dict[str, Any] = dict(main.record)
    for flavour, result in results.items():
        if flavour != "inprocess":
            record[flavour] = {k: result.record[k] for k in ("library", "features", "symbol_prefix", "tls_model",
                                                             "configure_args", "malloc_conf")}
    written.append(link_files.write_pkgconfig(
        prefix / LAYOUT.pkgconfig, libdir="${prefix}/" + LAYOUT.lib, includedir="${prefix}/" + LAYOUT.include,
        library=main.library.name, version=link_files.api_version(main.record["jemalloc_version"]),
        symbol_prefix=main.record.get("symbol_prefix") or "", features=main.record.get("features") or ()))
    if variant is not None:
        record["variant"] = variant
    # Paths relative to the record's own folder, so the record stays true wherever conda moves the
    # environment; jemalloc_sys._record treats that folder as its package folder.
    up = "/".join([".."] * len(Path(LAYOUT.share).parts))
    record["layout"] = {key: f"{up}/{value}" for key, value in (
        ("lib", _library_folder(main.library.name)), ("include", LAYOUT.include), ("bin", LAYOUT.bin),
        ("pkgconfig", LAYOUT.pkgconfig))}
    _rewrite_record(prefix, record)
    written.append(prefix / LAYOUT.share / RECORD_NAME)
    return Installed(files=written, record=record)
