"""Child of tests/integration/test_downstream.py: the consumer extension's allocations in a heap dump.

Usage: ``consumer_heap.py DUMP``; run in a venv holding ``jemalloc_probe`` and a
profiling variant, with ``_RJEM_MALLOC_CONF=prof:true,...``. Holds 8 blocks of 1 MiB
through the extension and writes a heap profile to DUMP (``prof.dump``). Prints one
JSON object: ``variant`` (active), ``library`` (what answers the extension's mallctl),
``module`` (the extension's file), ``pkgconfig`` and ``cmake`` (the link-file folders).
"""

from __future__ import annotations

import json
import sys

import jemalloc_probe  # type: ignore[import-not-found]  # the test consumer, installed in the test's venv

import jemalloc_sys
from jemalloc_sys import ctl


def main() -> None:
    held = [jemalloc_probe.hold(1 << 20) for _ in range(8)]
    ctl.default().write("prof.dump", "const char *", sys.argv[1])
    print(json.dumps({"variant": jemalloc_sys.variant(), "library": jemalloc_probe.library(),
                      "module": jemalloc_probe._probe.__file__, "pkgconfig": jemalloc_sys.get_pkgconfig_dir(),
                      "cmake": jemalloc_sys.get_cmake_dir(), "held": len(held)}))


if __name__ == "__main__":
    main()
