"""Loading the shipped library into this process with ctypes."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from pathlib import Path

from . import _prototypes, _record
from .errors import LoadError

_lock = threading.Lock()
_handles: dict[str, ctypes.CDLL] = {}


def library_path() -> Path:
    name: str = _record.record()["library"]
    return _record.library_dir() / name


def soname() -> str:
    """The in-process library's soname (``libjemalloc_sys.so.2``): the name extensions record in DT_NEEDED."""
    rec = _record.record()
    return str(rec.get("soname") or rec["library"])


def _already_loaded() -> ctypes.CDLL | None:
    """The object the process already knows by our soname, if any (Linux, glibc's RTLD_NOLOAD).

    Under ``jemalloc-sys run`` that is the preload library, which carries this soname and
    the ``_rjem_`` names too: using it keeps one jemalloc per process, at initial-exec speed.
    """
    noload = getattr(os, "RTLD_NOLOAD", 0)
    if not noload or not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(soname(), mode=noload | ctypes.RTLD_GLOBAL)
    except OSError:
        return None


def load() -> ctypes.CDLL:
    """The library as a ctypes handle, loaded once per process.

    Under ``jemalloc-sys run`` this is the preloaded process allocator (it answers to
    the in-process ABI: soname and ``_rjem_`` names), so there is one jemalloc per
    process. Otherwise the shipped in-process library is opened with ``RTLD_GLOBAL``,
    so that an extension module linked against ``libjemalloc_sys`` and imported later
    binds to this very copy (glibc matches an already-loaded library by soname), the
    way CUDA wheels are preloaded.
    """
    path = library_path()
    key = str(path)
    with _lock:
        handle = _handles.get(key)
        if handle is not None:
            return handle
        handle = _already_loaded()
        if handle is None:
            if sys.platform == "win32":
                os.add_dll_directory(str(path.parent))
            try:
                handle = ctypes.CDLL(key, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
            except OSError as exc:
                raise _explain(path, exc) from exc
        _prototypes.apply(handle, _record.record()["symbol_prefix"])
        _handles[key] = handle
        return handle


def _explain(path: Path, exc: OSError) -> LoadError:
    text = str(exc)
    rec = _record.record()
    if "static TLS" in text:
        origin = f" (packaged from JEMALLOC_OVERRIDE={rec['override']})" if rec.get("override") else ""
        return LoadError(
            f"cannot load {path}{origin}: it was built with initial-exec TLS, which a library opened after"
            " the process started cannot use (glibc: 'cannot allocate memory in static TLS block')."
            " Run the program under it instead (`jemalloc-sys run -- CMD`, i.e. LD_PRELOAD), start Python with"
            " GLIBC_TUNABLES=glibc.rtld.optional_static_tls=4096, or rebuild jemalloc-sys without JEMALLOC_OVERRIDE"
            " (its own library uses global-dynamic TLS)."
        )
    if not path.exists():
        return LoadError(f"cannot load {path}: the file is missing; reinstall jemalloc-sys")
    return LoadError(f"cannot load {path}: {text}")
