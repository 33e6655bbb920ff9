"""jemalloc for Python: the library, its headers, and its control interface.

``import jemalloc_sys`` is cheap and loads nothing; :func:`load` opens the
library on demand. Paths are returned by stateless ``get_*`` functions, in the
manner of ``numpy.get_include()`` and ``pybind11.get_cmake_dir()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._loader import LoadError, library_path, load
from ._record import NotBuiltError, VariantError
from ._version import __version__

__all__ = [
    "LoadError",
    "NotBuiltError",
    "VariantError",
    "__version__",
    "build_info",
    "features",
    "get_cmake_dir",
    "get_include",
    "get_library_dir",
    "get_pkgconfig_dir",
    "jemalloc_version",
    "library_path",
    "load",
    "variant",
]


def get_include() -> str:
    """Folder to add to the include path: it holds ``jemalloc/jemalloc.h``."""
    from . import _record

    return str(_record.include_dir())


def get_library_dir() -> str:
    """Folder holding the shared library (``-L`` and the rpath for linking)."""
    from . import _record

    return str(_record.library_dir())


def get_pkgconfig_dir() -> str:
    """Folder holding ``jemalloc-sys.pc`` (for ``PKG_CONFIG_PATH``; meson's ``dependency('jemalloc-sys')``)."""
    return str(Path(get_library_dir()) / "pkgconfig")


def get_cmake_dir() -> str:
    """Folder holding ``jemalloc-sysConfig.cmake`` (for ``-Djemalloc-sys_DIR=``; target ``jemalloc_sys::jemalloc``)."""
    return str(Path(get_library_dir()) / "cmake" / "jemalloc-sys")


def variant() -> str:
    """The active variant: ``base``, ``stats``, ``profiling`` or ``debug``.

    The richest installed (``pip install 'jemalloc-sys[profiling]'`` adds one) unless
    ``JEMALLOC_SYS_VARIANT`` names another; every function here follows it.
    """
    from . import _record

    return _record.variant()


def features() -> frozenset[str]:
    """The build features of the shipped library (the crate's names)."""
    from . import _record

    return frozenset(_record.record()["features"])


def build_info() -> dict[str, Any]:
    """Everything the builder recorded: version, features, configure flags, lg values, prefix, TLS model, compiler."""
    from . import _record

    return dict(_record.record())


def __getattr__(name: str) -> Any:
    # jemalloc_version is read from the build record on first use, so import stays free of I/O.
    if name == "jemalloc_version":
        from . import _record

        return _record.record()["jemalloc_version"]
    raise AttributeError(f"module 'jemalloc_sys' has no attribute {name!r}")

