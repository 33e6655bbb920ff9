"""Child of the one-jemalloc test: the consumer extension allocates 64 MiB; who served it?

Imports ``jemalloc_probe`` (the consumer extension, which calls ``jemalloc_sys.load()``
first), then prints one JSON object: which file defines the extension's
``_rjem_mallocx`` binding and its ``mallctl`` answers, which file ``load()`` returned,
every jemalloc mapped in the process, how much ``stats.allocated`` of
``jemalloc_sys.ctl.default()`` grew while the extension held 64 MiB, and whether
``default()`` and ``process_allocator()`` report the same (None without jemalloc as the
process allocator).
"""

from __future__ import annotations

import ctypes
import json

import jemalloc_probe  # type: ignore[import-not-found]  # the test consumer, built in the test's venv

import jemalloc_sys
from jemalloc_sys import ctl, errors


def main() -> None:
    extension = ctypes.CDLL(jemalloc_probe._probe.__file__)
    default = ctl.default()
    before = default.stats().allocated
    held = jemalloc_probe.hold(64 << 20)
    growth = default.stats().allocated - before
    try:
        process = jemalloc_sys.process_allocator()
        same: bool | None = process.stats().allocated == default.stats().allocated
    except errors.NotUnderJemallocError:
        same = None
    jemalloc_probe.release(held)
    with open("/proc/self/maps", encoding="utf-8") as maps:
        mapped = sorted({line.split()[-1] for line in maps if "libjemalloc" in line})
    print(json.dumps({
        "extension_mallocx_from": ctl._defining_object(extension, "_rjem_mallocx"),
        "extension_mallctl_from": jemalloc_probe.library(),
        "load_mallctl_from": ctl._defining_object(jemalloc_sys.load(), "_rjem_mallctl"),
        "jemallocs_mapped": mapped,
        "allocated_growth": growth,
        "default_equals_process": same,
    }))


if __name__ == "__main__":
    main()
