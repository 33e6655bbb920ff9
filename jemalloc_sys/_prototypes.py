"""C signatures of jemalloc's public functions, applied to the ctypes handle ``load()`` returns.

ctypes assumes every foreign function returns a C ``int``; a pointer from
``malloc`` would be cut to 32 bits and the next call would crash. Declaring the
signatures once here makes ``load()._rjem_malloc(n)`` safe to call as-is.
"""

from __future__ import annotations

import ctypes
from typing import Any

_P, _S, _I = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int

PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "malloc": (_P, [_S]),
    "calloc": (_P, [_S, _S]),
    "realloc": (_P, [_P, _S]),
    "free": (None, [_P]),
    "aligned_alloc": (_P, [_S, _S]),
    "posix_memalign": (_I, [ctypes.POINTER(_P), _S, _S]),
    "malloc_usable_size": (_S, [_P]),
    "mallocx": (_P, [_S, _I]),
    "rallocx": (_P, [_P, _S, _I]),
    "xallocx": (_S, [_P, _S, _S, _I]),
    "sallocx": (_S, [_P, _I]),
    "dallocx": (None, [_P, _I]),
    "sdallocx": (None, [_P, _S, _I]),
    "nallocx": (_S, [_S, _I]),
    "mallctl": (_I, [ctypes.c_char_p, _P, ctypes.POINTER(_S), _P, _S]),
    "mallctlnametomib": (_I, [ctypes.c_char_p, ctypes.POINTER(_S), ctypes.POINTER(_S)]),
    "mallctlbymib": (_I, [ctypes.POINTER(_S), _S, _P, ctypes.POINTER(_S), _P, _S]),
}


def apply(handle: ctypes.CDLL, prefix: str) -> None:
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            function = getattr(handle, prefix + name)
        except AttributeError:
            continue  # e.g. aligned_alloc on an old build: leave it undeclared
        function.restype = restype
        function.argtypes = argtypes
