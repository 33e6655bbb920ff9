"""Child of tests/integration/test_features_in_library.py: the handle of ``load()`` has C signatures.

No arguments. Allocates 1000 bytes through ``_rjem_malloc`` of ``jemalloc_sys.load()``,
fails if the pointer was truncated to 32 bits, and prints two numbers:
``_rjem_malloc_usable_size`` of it and ``_rjem_nallocx(1000, 0)``.
"""

from __future__ import annotations

import jemalloc_sys


def main() -> None:
    lib = jemalloc_sys.load()
    p = lib._rjem_malloc(1000)
    assert p > 2**32, hex(p)  # a full 64-bit pointer, not a truncated int
    print(lib._rjem_malloc_usable_size(p), lib._rjem_nallocx(1000, 0))
    lib._rjem_free(p)


if __name__ == "__main__":
    main()
