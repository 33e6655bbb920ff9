"""jemalloc's control interface (``mallctl``) from Python.

Every call goes through the loaded library's own prefixed ``mallctl`` (or the
process allocator's unprefixed one, see :func:`process_allocator`).
"""

from __future__ import annotations

import ctypes
from typing import Any

from . import _loader, _record

CTYPES: dict[str, Any] = {
    "bool": ctypes.c_bool,
    "unsigned": ctypes.c_uint,
    "size_t": ctypes.c_size_t,
    "ssize_t": ctypes.c_ssize_t,
    "uint64_t": ctypes.c_uint64,
    "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64,
    "const char *": ctypes.c_char_p,
}


class MallctlError(OSError):
    """A mallctl call failed; ``errno`` is jemalloc's return code."""


class Allocator:
    """One jemalloc instance: a ctypes handle plus the prefix of its public symbols."""

    def __init__(self, handle: ctypes.CDLL, prefix: str) -> None:
        self.handle = handle
        self.prefix = prefix
        self._mallctl = getattr(handle, prefix + "mallctl")
        self._mallctl.restype = ctypes.c_int
        self._mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                  ctypes.c_void_p, ctypes.c_size_t]

    def read(self, name: str, ctype: str) -> Any:
        cls = CTYPES[ctype]
        value = cls()
        size = ctypes.c_size_t(ctypes.sizeof(cls))
        rc = self._mallctl(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0)
        if rc != 0:
            raise MallctlError(rc, f"mallctl({name!r}) failed with error {rc}")
        result = value.value
        return result.decode() if isinstance(result, bytes) else result

    def write(self, name: str, ctype: str, new: Any) -> None:
        cls = CTYPES[ctype]
        value = cls(new.encode() if isinstance(new, str) else new)
        rc = self._mallctl(name.encode(), None, None, ctypes.byref(value), ctypes.sizeof(cls))
        if rc != 0:
            raise MallctlError(rc, f"mallctl({name!r}) write failed with error {rc}")


_default: Allocator | None = None


def default() -> Allocator:
    """The library this package ships, loaded in-process."""
    global _default
    if _default is None:
        _default = Allocator(_loader.load(), _record.record()["symbol_prefix"])
    return _default
