"""jemalloc's control interface (``mallctl``) from Python.

Two targets, one class: :func:`default` is the library this package ships,
loaded in-process (prefixed ``_rjem_`` symbols); :func:`process_allocator` is
the allocator of the current process when it runs under the preload library
(``jemalloc-sys run``), found through the process's own unprefixed ``mallctl``.

C types come from ``_mallctl_types.json``, which the builder derives from the
very ``src/ctl.c`` it compiled, so ``get("stats.allocated")`` needs no type
from the caller; a type can still be forced (``read(name, "size_t")``) for a
library built elsewhere (``JEMALLOC_OVERRIDE``) where no table exists.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _loader, _names, _record
from .errors import (
    ERRNO_CLASSES,
    FeatureMissingError,
    MallctlError,
    NotUnderJemallocError,
    ReadOnlyError,
    UnknownNameError,
    WrongTypeError,
)

log = logging.getLogger(__name__)

__all__ = [
    "ARENAS_ALL",
    "Allocator",
    "FeatureMissingError",
    "MallctlError",
    "Mib",
    "ReadOnlyError",
    "Stats",
    "UnknownNameError",
    "WrongTypeError",
    "default",
    "process_allocator",
]

CTYPES: dict[str, Any] = {
    "bool": ctypes.c_bool,
    "unsigned": ctypes.c_uint,
    "size_t": ctypes.c_size_t,
    "ssize_t": ctypes.c_ssize_t,
    "uint64_t": ctypes.c_uint64,
    "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64,
    "fxp_t": ctypes.c_uint32,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.c_char_p,
    "void *": ctypes.c_void_p,
    "uint64_t *": ctypes.POINTER(ctypes.c_uint64),
    "size_t *": ctypes.POINTER(ctypes.c_size_t),
}
"""C type names as ``src/ctl.c`` spells them -> ctypes."""

ARENAS_ALL = 4096
"""``MALLCTL_ARENAS_ALL``: the arena index meaning "every arena" (``arena.4096.purge``)."""

TYPES_FILE = _names.TYPES_FILE

FEATURE_HINTS: dict[str, tuple[str, str]] = {
    # config_* switch -> (feature, how to get it)
    "config_stats": ("stats", "pip install 'jemalloc-sys[stats]' (or build with JEMALLOC_SYS_FEATURES=stats)"),
    "config_prof": ("profiling",
                    "pip install 'jemalloc-sys[profiling]' (or build with JEMALLOC_SYS_FEATURES=profiling)"),
    "config_debug": ("debug", "pip install 'jemalloc-sys[debug]' (or build with JEMALLOC_SYS_FEATURES=debug)"),
    "config_fill": ("fill", "a jemalloc configured with --enable-fill (upstream's default)"),
    "config_utrace": ("utrace", "a jemalloc configured with --enable-utrace"),
    "config_xmalloc": ("xmalloc", "a jemalloc configured with --enable-xmalloc"),
}


@dataclass(frozen=True)
class TypeInfo:
    """What the table says about one mallctl name."""

    ctype: str | None
    readable: bool
    writable: bool
    requires: str | None = None
    write_ctype: str | None = None


FALLBACK_TYPES: dict[str, tuple[str, bool, bool]] = {
    # Only for a library packaged with JEMALLOC_OVERRIDE, which ships no derived table: the names the
    # convenience methods use, typed as jemalloc's manual documents them (name -> type, read, write).
    "version": ("const char *", True, False), "epoch": ("uint64_t", True, True),
    "background_thread": ("bool", True, True), "max_background_threads": ("size_t", True, True),
    "config.stats": ("bool", True, False), "config.prof": ("bool", True, False), "opt.prof": ("bool", True, False),
    **{f"stats.{n}": ("size_t", True, False)
       for n in ("allocated", "active", "metadata", "resident", "mapped", "retained")},
    "thread.allocated": ("uint64_t", True, False), "thread.deallocated": ("uint64_t", True, False),
    "thread.allocatedp": ("uint64_t *", True, False), "thread.deallocatedp": ("uint64_t *", True, False),
    "prof.active": ("bool", True, True), "prof.dump": ("const char *", False, True),
    "prof.reset": ("size_t", False, True), "prof.lg_sample": ("size_t", True, False),
    "arena.*.purge": ("", False, False), "arena.*.decay": ("", False, False),
}


@functools.cache
def _types_doc(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        log.info("no %s next to the library; using the small built-in table", TYPES_FILE)
        names = {k: {"type": t or None, "read": r, "write": w} for k, (t, r, w) in FALLBACK_TYPES.items()}
        return {"names": names, "index": "*", "fallback": True}
    doc: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return doc


def types_table() -> dict[str, Any]:
    """The shipped name -> type document (next to the active library; empty when none was shipped)."""
    here = _record.package_dir() / TYPES_FILE
    return _types_doc(str(here if here.is_file() else _record.PACKAGE_DIR / TYPES_FILE))


def _pattern(name: str) -> str:
    # Numeric components are indexes: arena.0.purge -> arena.*.purge.
    return ".".join("*" if part.isdigit() else part for part in name.split("."))


@dataclass(frozen=True)
class Stats:
    """One consistent snapshot of the global counters, in bytes (see jemalloc's ``stats.*``)."""

    allocated: int
    active: int
    metadata: int
    resident: int
    mapped: int
    retained: int


class Mib:
    """A mallctl name translated once to its MIB, for reads in a hot loop (``mallctlbymib``)."""

    def __init__(self, allocator: Allocator, name: str, ctype: str | None) -> None:
        self.allocator = allocator
        self.name = name
        self.ctype = ctype
        length = ctypes.c_size_t(16)
        self._mib = (ctypes.c_size_t * 16)()
        rc = allocator._nametomib(name.encode(), self._mib, ctypes.byref(length))
        if rc != 0:
            allocator._raise(rc, name, "look up")
        self._len = length.value

    def get(self) -> Any:
        """Read the value (the type comes from the table or the constructor)."""
        return self.allocator._read(self.name, self.ctype, self._bymib)

    def set(self, value: Any) -> None:
        self.allocator._write(self.name, self.ctype, value, self._bymib)

    def _bymib(self, oldp: Any, oldlenp: Any, newp: Any, newlen: int) -> int:
        rc: int = self.allocator._bymib(self._mib, self._len, oldp, oldlenp, newp, newlen)
        return rc


class Allocator:
    """One jemalloc instance: a ctypes handle plus the prefix of its public symbols."""

    def __init__(self, handle: ctypes.CDLL, prefix: str, *, label: str = "",
                 types: dict[str, Any] | None = None) -> None:
        self.handle = handle
        self.prefix = prefix
        self.label = label or f"jemalloc ({prefix or 'unprefixed'})"
        self.types = types if types is not None else types_table()
        size_p = ctypes.POINTER(ctypes.c_size_t)
        self._mallctl = getattr(handle, prefix + "mallctl")
        self._mallctl.restype = ctypes.c_int
        self._mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, size_p, ctypes.c_void_p, ctypes.c_size_t]
        self._nametomib = getattr(handle, prefix + "mallctlnametomib")
        self._nametomib.restype = ctypes.c_int
        self._nametomib.argtypes = [ctypes.c_char_p, size_p, size_p]
        self._bymib = getattr(handle, prefix + "mallctlbymib")
        self._bymib.restype = ctypes.c_int
        self._bymib.argtypes = [size_p, ctypes.c_size_t, ctypes.c_void_p, size_p, ctypes.c_void_p, ctypes.c_size_t]
        self._lock = threading.Lock()

    # -- typing -------------------------------------------------------------------------------

    def type_of(self, name: str) -> TypeInfo | None:
        """The table's entry for ``name`` (indexes may be numbers), or None when it is not in the table."""
        names: dict[str, dict[str, Any]] = self.types.get("names", {})
        entry = names.get(name) or names.get(_pattern(name))
        if entry is None:
            return None
        return TypeInfo(entry.get("type"), bool(entry.get("read")), bool(entry.get("write")), entry.get("requires"),
                        entry.get("write_type"))

    def _ctype(self, name: str, ctype: str | None, *, writing: bool) -> Any:
        if ctype is None:
            info = self.type_of(name)
            if info is None:
                if not self.types.get("fallback"):
                    raise self._unknown(name)
                raise WrongTypeError(errno.EINVAL, f"mallctl {name!r}: this library ships no type table"
                                     " (built with JEMALLOC_OVERRIDE?); pass the C type, e.g. read(name, 'size_t')",
                                     name=name)
            ctype = (info.write_ctype or info.ctype) if writing else info.ctype
            if ctype is None:
                raise WrongTypeError(errno.EINVAL, f"mallctl {name!r} takes no value; use call({name!r})", name=name)
        if ctype not in CTYPES:
            raise WrongTypeError(errno.EINVAL, f"mallctl {name!r}: C type {ctype!r} is not supported from Python;"
                                 f" supported: {', '.join(CTYPES)}", name=name)
        return CTYPES[ctype]

    def _unknown(self, name: str) -> UnknownNameError:
        import difflib

        names = [n.replace("*", "0") for n in self.types.get("names", {})]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return UnknownNameError(errno.ENOENT, f"jemalloc has no mallctl {name!r}{hint}", name=name)

    # -- errors -------------------------------------------------------------------------------

    def _raise(self, rc: int, name: str, op: str) -> None:
        info = self.type_of(name)
        requires = info.requires if info is not None else None
        if name.startswith("prof.") and requires is None:
            # prof.dump, prof.reset, prof.prefix... are checked at run time (config_prof && opt_prof), not
            # marked in the ctl tables: a build without profiling is the first thing to rule out.
            requires = "config_prof"
        if rc == errno.ENOENT and requires is not None and requires in FEATURE_HINTS:
            switch = requires.removeprefix("config_")
            if self._quiet_get(f"config.{switch}") is False:
                feature, how = FEATURE_HINTS[requires]
                raise FeatureMissingError(
                    rc, f"mallctl {name!r}: this jemalloc was built without {feature} (config.{switch} is false);"
                    f" for it: {how}", name=name, feature=feature)
        if rc == errno.ENOENT and name.startswith("prof.") and self._quiet_get("opt.prof") is False:
            var = f"{self.prefix.upper()}MALLOC_CONF"
            raise UnknownNameError(
                rc, f"mallctl {name!r}: profiling is built in but off in this process; start it with {var}=prof:true"
                " (before the library loads), or use `jemalloc-sys run --profile DIR -- CMD`", name=name)
        if rc == errno.ENOENT:
            raise self._unknown(name) if info is None else UnknownNameError(
                rc, f"mallctl {name!r}: not available in this process (ENOENT: index out of range, or disabled"
                " at run time, e.g. profiling without MALLOC_CONF prof:true)", name=name)
        if rc == errno.EPERM:
            what = "read-only" if op == "write" else "write-only" if op == "read" else "not accessible that way"
            raise ReadOnlyError(rc, f"mallctl {name!r} is {what} (EPERM)", name=name)
        if rc == errno.EINVAL:
            expected = f" it takes {info.ctype}" if info is not None and info.ctype else ""
            raise WrongTypeError(rc, f"mallctl {name!r}: wrong type, size or value (EINVAL);{expected}", name=name)
        cls = ERRNO_CLASSES.get(rc, MallctlError)
        raise cls(rc, f"mallctl {name!r} ({op}) failed: {os.strerror(rc)} (errno {rc})", name=name)

    def _quiet_get(self, name: str) -> Any:
        try:
            return self.get(name)
        except MallctlError:
            return None

    # -- raw access ---------------------------------------------------------------------------

    def _read(self, name: str, ctype: str | None, call: Callable[..., int]) -> Any:
        cls = self._ctype(name, ctype, writing=False)
        value = cls()
        size = ctypes.c_size_t(ctypes.sizeof(cls))
        rc = call(ctypes.byref(value), ctypes.byref(size), None, 0)
        if rc != 0:
            self._raise(rc, name, "read")
        if isinstance(value, ctypes._Pointer):
            return value
        result = value.value
        return result.decode() if isinstance(result, bytes) else result

    def _convert(self, name: str, cls: Any, new: Any) -> Any:
        if cls is ctypes.c_char_p:
            if not isinstance(new, (str, bytes, os.PathLike)):
                raise WrongTypeError(errno.EINVAL, f"mallctl {name!r} takes a string, got {type(new).__name__}",
                                     name=name)
            return cls(os.fsencode(new))
        if cls is ctypes.c_bool:
            if not isinstance(new, bool):
                raise WrongTypeError(errno.EINVAL, f"mallctl {name!r} takes True or False, got {new!r}", name=name)
            return cls(new)
        if not isinstance(new, int) or isinstance(new, bool):
            raise WrongTypeError(errno.EINVAL, f"mallctl {name!r} takes an integer, got {new!r}", name=name)
        value = cls(new)
        if value.value != new:
            raise WrongTypeError(errno.EINVAL, f"mallctl {name!r}: {new} does not fit its C type", name=name)
        return value

    def _write(self, name: str, ctype: str | None, new: Any, call: Callable[..., int]) -> None:
        cls = self._ctype(name, ctype, writing=True)
        value = self._convert(name, cls, new)
        rc = call(None, None, ctypes.byref(value), ctypes.sizeof(cls))
        if rc != 0:
            self._raise(rc, name, "write")

    def _by_name(self, name: str) -> Callable[..., int]:
        encoded = name.encode()

        def call(oldp: Any, oldlenp: Any, newp: Any, newlen: int) -> int:
            rc: int = self._mallctl(encoded, oldp, oldlenp, newp, newlen)
            return rc

        return call

    # -- public -------------------------------------------------------------------------------

    def read(self, name: str, ctype: str | None = None) -> Any:
        """Read ``name``; ``ctype`` overrides the table (a C type name such as ``"size_t"``)."""
        return self._read(name, ctype, self._by_name(name))

    def write(self, name: str, ctype: str | None, new: Any) -> None:
        """Write ``new`` to ``name`` as ``ctype`` (None: the table's type)."""
        self._write(name, ctype, new, self._by_name(name))

    def get(self, name: str) -> Any:
        """Read ``name`` with the type jemalloc declares for it."""
        return self.read(name)

    def set(self, name: str, value: Any) -> None:
        """Write ``value`` to ``name`` with the type jemalloc declares for it."""
        self.write(name, None, value)

    def call(self, name: str) -> None:
        """Trigger a name that takes no value (``arena.4096.purge``, ``thread.tcache.flush``)."""
        rc = self._mallctl(name.encode(), None, None, None, 0)
        if rc != 0:
            self._raise(rc, name, "call")

    def mib(self, name: str, ctype: str | None = None) -> Mib:
        """A handle that skips the name lookup on every access (tikv-jemalloc-ctl's ``mib()``)."""
        return Mib(self, name, ctype)

    # -- the common operations ----------------------------------------------------------------

    @property
    def version(self) -> str:
        """jemalloc's ``version`` string, e.g. ``5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8``."""
        value: str = self.get("version")
        return value

    def epoch(self) -> int:
        """Refresh the statistics snapshot (``epoch``); returns the new epoch."""
        with self._lock:
            value = ctypes.c_uint64(1)
            size = ctypes.c_size_t(8)
            rc = self._mallctl(b"epoch", ctypes.byref(value), ctypes.byref(size), ctypes.byref(value), 8)
            if rc != 0:
                self._raise(rc, "epoch", "write")
            return int(value.value)

    def stats(self) -> Stats:
        """Advance the epoch and return the global counters (needs a build with stats)."""
        self.epoch()
        return Stats(**{field: self.get(f"stats.{field}") for field in Stats.__dataclass_fields__})

    def stats_print(self, options: str = "") -> dict[str, Any]:
        """jemalloc's full statistics report (``malloc_stats_print`` with ``J``), parsed from its JSON."""
        chunks: list[bytes] = []
        callback_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)

        def collect(_opaque: Any, text: bytes | None) -> None:
            if text:
                chunks.append(text)

        callback = callback_type(collect)
        func = getattr(self.handle, self.prefix + "malloc_stats_print")
        func.restype = None
        func.argtypes = [callback_type, ctypes.c_void_p, ctypes.c_char_p]
        func(callback, None, ("J" + options.replace("J", "")).encode())
        doc: dict[str, Any] = json.loads(b"".join(chunks).decode("utf-8", "replace"))
        return doc

    @property
    def background_thread(self) -> bool:
        return bool(self.get("background_thread"))

    @background_thread.setter
    def background_thread(self, on: bool) -> None:
        self.set("background_thread", on)

    @property
    def max_background_threads(self) -> int:
        return int(self.get("max_background_threads"))

    @max_background_threads.setter
    def max_background_threads(self, count: int) -> None:
        self.set("max_background_threads", count)

    def purge(self, arena: int = ARENAS_ALL) -> None:
        """Return every unused dirty page to the OS now (``arena.<i>.purge``)."""
        self.call(f"arena.{arena}.purge")

    def decay(self, arena: int = ARENAS_ALL) -> None:
        """Purge what the decay schedule says is due now (``arena.<i>.decay``)."""
        self.call(f"arena.{arena}.decay")

    def thread_allocated(self) -> int:
        """Bytes this thread has allocated so far (``thread.allocated``)."""
        return int(self.get("thread.allocated"))

    def thread_deallocated(self) -> int:
        """Bytes this thread has freed so far (``thread.deallocated``)."""
        return int(self.get("thread.deallocated"))

    def thread_counters(self) -> tuple[Any, Any]:
        """Pointers to this thread's allocated/deallocated counters: read ``p.contents.value`` with no call at all.

        Valid only on the calling thread and while it lives (``thread.allocatedp``).
        """
        return self.get("thread.allocatedp"), self.get("thread.deallocatedp")

    # -- profiling ----------------------------------------------------------------------------

    @property
    def prof_active(self) -> bool:
        return bool(self.get("prof.active"))

    @prof_active.setter
    def prof_active(self, on: bool) -> None:
        self.set("prof.active", on)

    def prof_dump(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write a heap profile to ``path`` (None: jemalloc's own ``<prof_prefix>.<pid>.<seq>.m<n>.heap``)."""
        if path is None:
            self.call("prof.dump")
        else:
            self.set("prof.dump", os.fspath(path))

    def prof_reset(self, lg_sample: int | None = None) -> None:
        """Forget the samples so far; optionally set a new sample rate (2**lg_sample bytes on average)."""
        if lg_sample is None:
            self.call("prof.reset")
        else:
            self.set("prof.reset", lg_sample)

    @property
    def prof_lg_sample(self) -> int:
        return int(self.get("prof.lg_sample"))


_default: Allocator | None = None


def default() -> Allocator:
    """The library this package ships, loaded in-process; under ``jemalloc-sys run``, the process allocator.

    The preload library answers to the in-process library's soname and ``_rjem_`` names,
    so :func:`jemalloc_sys.load` returns it when it is loaded: then this and
    :func:`process_allocator` are the same jemalloc, seen through two sets of names.
    """
    global _default
    if _default is None:
        rec = _record.record()
        handle = _loader.load()
        where = _defining_object(handle, rec["symbol_prefix"] + "mallctl") or rec["library"]
        _default = Allocator(handle, rec["symbol_prefix"], label=f"jemalloc {where}")
    return _default


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _defining_object(process: ctypes.CDLL, symbol: str) -> str | None:
    """File of the object whose ``symbol`` the process binds to (dladdr)."""
    try:
        address = ctypes.cast(getattr(process, symbol), ctypes.c_void_p).value
    except AttributeError:
        return None
    try:
        dladdr = process.dladdr  # in libc since glibc 2.34, found through the process's global scope
    except AttributeError:
        dladdr = ctypes.CDLL(ctypes.util.find_library("dl") or None).dladdr
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    dladdr.restype = ctypes.c_int
    info = _DlInfo()
    if not dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.fsdecode(info.dli_fname)


_process: Allocator | None = None


def process_allocator() -> Allocator:
    """The allocator of this very process, when its ``malloc`` is jemalloc (run under ``jemalloc-sys run``).

    Checks that ``malloc`` and ``mallctl`` come from the same object: a jemalloc
    merely loaded into the process (this package's prefixed one, or a library that
    links jemalloc privately) does not make it the process allocator.
    """
    global _process
    if _process is not None:
        return _process
    process = ctypes.CDLL(None)
    mallctl_from = _defining_object(process, "mallctl")
    malloc_from = _defining_object(process, "malloc")
    if mallctl_from is None or mallctl_from != malloc_from:
        preload = os.environ.get("LD_PRELOAD", "")
        raise NotUnderJemallocError(
            f"this process's malloc is not jemalloc (malloc comes from {malloc_from or 'an unknown object'},"
            f" LD_PRELOAD={preload!r}); start it under jemalloc: `jemalloc-sys run -- CMD` or"
            " jemalloc_sys.preload_env(); for the in-process library use jemalloc_sys.ctl.default()"
        )
    _process = Allocator(process, "", label=f"process allocator {mallctl_from}")
    log.debug("process allocator: %s", mallctl_from)
    return _process


