"""Child of tests/integration/test_downstream.py: a consumer extension allocates; who served it?

Usage: ``consumer_probe.py [MODULE]``, MODULE the consumer package (``jemalloc_probe``,
the default, or ``jemalloc_probe_cmake``), installed in the running venv. Holds 3 MiB
through the extension and prints one JSON object: ``library`` (the file that answers
the extension's mallctl), ``expected`` (``jemalloc_sys.library_path()``), ``usable``
(usable size of the block), ``grew`` (this thread's ``thread.allocated`` growth) and
``maps`` (every mapped file whose name holds "jemalloc").
"""

from __future__ import annotations

import importlib
import json
import sys

import jemalloc_sys
from jemalloc_sys import ctl


def main() -> None:
    probe = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "jemalloc_probe")
    a = ctl.default()
    before = a.read("thread.allocated", "uint64_t")
    p = probe.hold(3 << 20)
    after = a.read("thread.allocated", "uint64_t")
    with open("/proc/self/maps", encoding="utf-8") as maps:
        mapped = [line.split()[-1] for line in maps if "jemalloc" in line]
    out = {"library": probe.library(), "expected": str(jemalloc_sys.library_path()),
           "usable": probe.usable(p), "grew": after - before, "maps": mapped}
    probe.release(p)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
