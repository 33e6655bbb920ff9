"""Child of tests/integration/test_prof.py: allocations from the known functions, under ``jemalloc-sys run``.

Usage: ``prof_app.py LIBRARY`` (prof_known.c compiled as a shared library). Allocates
200 blocks of 100,000 bytes with ``alloc_in_known_function`` and 100 with
``malloc_in_second_function``, keeps them, and prints nothing; the heap profile is
what the test reads.
"""

from __future__ import annotations

import ctypes
import sys


def main() -> None:
    lib = ctypes.CDLL(sys.argv[1])
    lib.alloc_in_known_function(200, 100000)
    lib.malloc_in_second_function(100, 100000)


if __name__ == "__main__":
    main()
