"""Files that let other build systems find the shipped library: pkg-config and CMake.

Both are written at install time, next to the library, and are relocatable:
every path inside is derived from the file's own location (``${pcfiledir}`` for
pkg-config, ``CMAKE_CURRENT_LIST_DIR`` for CMake). A wheel is unpacked wherever
pip decides, and a conda package is moved from its build prefix to the user's,
so a path written at build time would be wrong (and would leak the build
machine's folders into what we ship).

The functions take plain values rather than a build record so that other
installers (the conda recipe writes a ``.pc`` into ``$PREFIX``) can call them
with their own layout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PKG_NAME = "jemalloc-sys"
"""pkg-config module and CMake package name; not ``jemalloc``, so a system jemalloc is never shadowed."""
CMAKE_TARGET = "jemalloc_sys::jemalloc"
PKGCONFIG_SUBDIR = "pkgconfig"
"""Under the library folder, as ``<prefix>/lib/pkgconfig`` is everywhere else."""
CMAKE_SUBDIR = f"cmake/{PKG_NAME}"
"""Under the library folder: CMake searches ``<prefix>/lib/cmake/<name>*/`` for a prefix."""


@dataclass(frozen=True, kw_only=True)
class LinkStyle:
    """How a linker is pointed at a library of one file-name shape."""

    suffix: str
    by_name: bool
    """``-L<dir> -l<stem>`` works (ELF: a linker script stands in for the missing ``.so`` symlink)."""
    implib: str | None = None
    """Import library beside the DLL, if the platform links against one (``{stem}`` is replaced)."""


LINK_STYLES: tuple[LinkStyle, ...] = (
    LinkStyle(suffix=".so.2", by_name=True),
    # ld64 has no linker scripts and a wheel has no libjemalloc_sys.dylib symlink: name the file.
    LinkStyle(suffix=".2.dylib", by_name=False),
    # MSVC and mingw link against the import library; the DLL is found at run time.
    LinkStyle(suffix=".dll", by_name=False, implib="{stem}.lib"),
)


def link_style(library: str) -> LinkStyle:
    for style in LINK_STYLES:
        if library.endswith(style.suffix):
            return style
    known = ", ".join(s.suffix for s in LINK_STYLES)
    raise ValueError(f"library {library!r}: unknown shared-library name shape (known endings: {known})")


def link_stem(library: str) -> str:
    """``libjemalloc_sys.so.2`` -> ``jemalloc_sys``: the name ``-l`` takes."""
    stem = library.removesuffix(link_style(library).suffix)
    return stem.removeprefix("lib") if not library.endswith(".dll") else stem


def linker_script(library: str) -> str:
    """GNU ld / lld script for ``lib<stem>.so``: a wheel cannot carry the usual symlink.

    The program still records the real soname (``libjemalloc_sys.so.2``) in DT_NEEDED.
    """
    return f"/* lets -l{link_stem(library)} find {library} (a wheel cannot hold symlinks) */\nINPUT({library})\n"


def api_version(jemalloc_version: str) -> str:
    """``5.3.1-0-g81034ce...`` -> ``5.3.1``: what pkg-config and CMake compare."""
    return jemalloc_version.split("-", 1)[0]


def pkgconfig_text(*, prefix_expr: str, libdir: str, includedir: str, library: str, version: str,
                   symbol_prefix: str = "", features: Iterable[str] = (),
                   description: str = "jemalloc general-purpose allocator, as shipped by jemalloc-sys") -> str:
    """The ``.pc`` text. ``prefix_expr`` is usually ``${pcfiledir}/../..``."""
    style = link_style(library)
    if style.by_name:
        libs = f"-L${{libdir}} -l{link_stem(library)}"
    elif style.implib:
        libs = f"${{libdir}}/{style.implib.format(stem=link_stem(library))}"
    else:
        libs = f"${{libdir}}/{library}"
    lines = [
        f"prefix={prefix_expr}",
        f"libdir={libdir}",
        f"includedir={includedir}",
        f"library={library}",
        f"symbol_prefix={symbol_prefix}",
        f"features={','.join(sorted(features))}",
        "",
        f"Name: {PKG_NAME}",
        f"Description: {description}",
        f"Version: {version}",
        f"Libs: {libs}",
        "Cflags: -I${includedir}",
        "",
    ]
    return "\n".join(lines)


def write_pkgconfig(dest_dir: Path, *, prefix_expr: str = "${pcfiledir}/../..", libdir: str = "${prefix}/lib",
                    includedir: str = "${prefix}/include", library: str, version: str, symbol_prefix: str = "",
                    features: Iterable[str] = ()) -> Path:
    """Write ``<dest_dir>/jemalloc-sys.pc`` and return its path.

    The defaults fit ``<prefix>/lib/pkgconfig/`` with ``include/`` beside ``lib/``
    (our wheel's package folder, and a conda ``$PREFIX``).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{PKG_NAME}.pc"
    path.write_text(pkgconfig_text(prefix_expr=prefix_expr, libdir=libdir, includedir=includedir, library=library,
                                   version=version, symbol_prefix=symbol_prefix, features=features), encoding="utf-8")
    log.info("wrote %s", path)
    return path


def cmake_config_text(*, prefix_from_config: str, library: str, symbol_prefix: str = "",
                      features: Iterable[str] = ()) -> str:
    """``jemalloc-sysConfig.cmake``: an IMPORTED target whose paths follow the file's own location."""
    style = link_style(library)
    props = [f'IMPORTED_LOCATION "${{_jemalloc_sys_prefix}}/lib/{library}"',
             'INTERFACE_INCLUDE_DIRECTORIES "${_jemalloc_sys_prefix}/include"']
    if style.implib:
        props.append(f'IMPORTED_IMPLIB "${{_jemalloc_sys_prefix}}/lib/{style.implib.format(stem=link_stem(library))}"')
    else:
        props.append(f'IMPORTED_SONAME "{library}"')
    prop_lines = "\n".join(f"    {p}" for p in props)
    return f"""\
# CMake package configuration for {PKG_NAME}, written when jemalloc-sys was installed.
# Relocatable: every path is derived from this file's location.
#   find_package({PKG_NAME} CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE {CMAKE_TARGET})
# At run time the library is found by soname once `import jemalloc_sys; jemalloc_sys.load()` ran
# (or through an rpath for programs outside Python).
get_filename_component(_jemalloc_sys_prefix "${{CMAKE_CURRENT_LIST_DIR}}/{prefix_from_config}" ABSOLUTE)
if(NOT TARGET {CMAKE_TARGET})
  add_library({CMAKE_TARGET} SHARED IMPORTED)
  set_target_properties({CMAKE_TARGET} PROPERTIES
{prop_lines})
endif()
set({PKG_NAME}_INCLUDE_DIRS "${{_jemalloc_sys_prefix}}/include")
set({PKG_NAME}_LIBRARY_DIR "${{_jemalloc_sys_prefix}}/lib")
set({PKG_NAME}_LIBRARIES {CMAKE_TARGET})
set({PKG_NAME}_SYMBOL_PREFIX "{symbol_prefix}")
set({PKG_NAME}_FEATURES "{';'.join(sorted(features))}")
unset(_jemalloc_sys_prefix)
"""


def cmake_version_text(version: str) -> str:
    """Version file: same major version, and at least the requested one (jemalloc's API promise)."""
    major = version.split(".")[0]
    return f"""\
# Version check for {PKG_NAME}: compatible within jemalloc major version {major}.
set(PACKAGE_VERSION "{version}")
if(PACKAGE_FIND_VERSION_MAJOR AND NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL "{major}")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
"""


def write_cmake_config(dest_dir: Path, *, prefix_from_config: str = "../../..", library: str, version: str,
                       symbol_prefix: str = "", features: Iterable[str] = ()) -> list[Path]:
    """Write ``jemalloc-sysConfig.cmake`` and ``jemalloc-sysConfigVersion.cmake`` into ``dest_dir``.

    ``prefix_from_config`` leads from ``dest_dir`` to the folder holding ``lib/`` and
    ``include/`` (``../../..`` for ``<prefix>/lib/cmake/jemalloc-sys``).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    config = dest_dir / f"{PKG_NAME}Config.cmake"
    config.write_text(cmake_config_text(prefix_from_config=prefix_from_config, library=library,
                                        symbol_prefix=symbol_prefix, features=features), encoding="utf-8")
    version_file = dest_dir / f"{PKG_NAME}ConfigVersion.cmake"
    version_file.write_text(cmake_version_text(version), encoding="utf-8")
    log.info("wrote %s and %s", config, version_file)
    return [config, version_file]


def install_link_files(package_dir: Path, record: Mapping[str, Any]) -> list[Path]:
    """Everything a downstream build needs beside ``lib/`` and ``include/`` of an installed package.

    Called by :func:`jemalloc_build.setuptools_ext.install_into`; ``record`` is the
    build record of the in-process library (the one downstream code links).
    """
    library: str = record["library"]
    lib_dir = package_dir / "lib"
    prefix: str = record.get("symbol_prefix") or ""
    features: list[str] = list(record.get("features") or ())
    version = api_version(record["jemalloc_version"])
    written: list[Path] = []
    if link_style(library).by_name:
        script = lib_dir / f"lib{link_stem(library)}.so"
        script.write_text(linker_script(library), encoding="utf-8")
        written.append(script)
    written.append(write_pkgconfig(lib_dir / PKGCONFIG_SUBDIR, library=library, version=version,
                                   symbol_prefix=prefix, features=features))
    written += write_cmake_config(lib_dir / CMAKE_SUBDIR, library=library, version=version,
                                  symbol_prefix=prefix, features=features)
    return written
