"""Child of tests/integration/test_reliability.py: a built library is whole.

Usage: ``load_library.py LIBRARY`` (a prefixed libjemalloc_sys.so.2). Opens it with
ctypes, allocates 1000 bytes through ``_rjem_malloc`` and frees them; prints ``ok``,
or fails with an AssertionError when the allocation returns NULL.
"""

from __future__ import annotations

import ctypes
import sys


def main() -> None:
    lib = ctypes.CDLL(sys.argv[1])
    lib._rjem_malloc.restype = ctypes.c_void_p
    p = lib._rjem_malloc(1000)
    assert p
    lib._rjem_free(ctypes.c_void_p(p))
    print("ok")


if __name__ == "__main__":
    main()
