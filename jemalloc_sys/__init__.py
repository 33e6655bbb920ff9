"""jemalloc for Python: the library, its headers, and its control interface.

``import jemalloc_sys`` is cheap and loads nothing; :func:`load` opens the
library on demand. Paths are returned by stateless ``get_*`` functions, in the
manner of ``numpy.get_include()`` and ``pybind11.get_cmake_dir()``.
"""

from __future__ import annotations

from ._version import __version__

# Everything else is imported on first use: ctypes, json, pathlib and logging would
# otherwise cost every `import jemalloc_sys` about 25 ms (measured with -X importtime).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from . import ctl as ctl
    from . import errors as errors
    from . import prof as prof
    from ._loader import library_path, load
    from .errors import LoadError, NotBuiltError, VariantError

_SUBMODULES = ("ctl", "errors", "prof")
"""Submodules reachable as attributes (``jemalloc_sys.ctl.default()``), imported on first use."""

_LAZY = {
    "LoadError": "errors",
    "library_path": "_loader",
    "load": "_loader",
    "NotBuiltError": "errors",
    "VariantError": "errors",
}

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
    "preload_env",
    "preload_path",
    "process_allocator",
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


def variant() -> str:
    """The active variant: ``base``, ``stats``, ``profiling`` or ``debug``.

    The richest installed (``pip install 'jemalloc-sys[profiling]'`` adds one) unless
    ``JEMALLOC_SYS_VARIANT`` names another; every function here follows it.
    """
    from . import _record

    return _record.variant()


def get_pkgconfig_dir() -> str:
    """Folder holding ``jemalloc-sys.pc`` (for ``PKG_CONFIG_PATH``; meson's ``dependency('jemalloc-sys')``)."""
    import os.path

    return os.path.join(get_library_dir(), "pkgconfig")


def get_cmake_dir() -> str:
    """Folder holding ``jemalloc-sysConfig.cmake`` (for ``-Djemalloc-sys_DIR=``; target ``jemalloc_sys::jemalloc``)."""
    import os.path

    return os.path.join(get_library_dir(), "cmake", "jemalloc-sys")


def features() -> frozenset[str]:
    """The build features of the shipped library (the crate's names)."""
    from . import _record

    return frozenset(_record.record()["features"])


def build_info() -> dict[str, Any]:
    """Everything the builder recorded: version, features, configure flags, lg values, prefix, TLS model, compiler."""
    from . import _record

    return dict(_record.record())


def preload_env(conf: Any = None, *, profile: str | None = None, env: dict[str, str] | None = None,
                python_malloc: bool = False, service: bool = False, arenas: str | int | None = None,
                python_frames: bool = True) -> dict[str, str]:
    """Environment that runs a child under jemalloc (``subprocess.run(cmd, env=jemalloc_sys.preload_env())``).

    Adds the preload library to ``LD_PRELOAD`` and ``conf`` (``"narenas:2"`` or a dict) to
    ``MALLOC_CONF`` without dropping what is there; ``profile=DIR`` makes the child dump heap
    profiles into DIR at exit (with Python frames unless ``python_frames=False``);
    ``service`` and ``arenas`` are the runner's ``--service`` and ``--arenas``. The same
    environment ``jemalloc-sys run`` gives its command; see :mod:`jemalloc_sys.preload`.
    """
    from . import preload

    return preload.preload_env(conf, profile=profile, env=env, python_malloc=python_malloc, service=service,
                               arenas=arenas, python_frames=python_frames)


def preload_path() -> str:
    """Path of the unprefixed preload library, for ``LD_PRELOAD`` (Linux)."""
    from . import preload

    return str(preload.preload_path())


def process_allocator() -> Any:
    """The current process's own jemalloc (when run under the preload library) as a ``ctl.Allocator``."""
    from . import ctl

    return ctl.process_allocator()


def __getattr__(name: str) -> Any:
    # jemalloc_version is read from the build record on first use, so import stays free of I/O.
    if name == "jemalloc_version":
        from . import _record

        return _record.record()["jemalloc_version"]
    if name in _SUBMODULES:
        import importlib

        module = importlib.import_module(f".{name}", __name__)  # the import also sets the attribute
        return module
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jemalloc_sys' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES, "jemalloc_version"})

