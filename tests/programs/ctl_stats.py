"""Child of tests/integration/test_ctl.py: ``jemalloc_sys.ctl`` statistics around a 64 MiB allocation.

No arguments. Allocates 64 blocks of 1 MiB through the prefixed ``malloc`` of
``ctl.default()``, frees and purges them, allocates 3 MiB more on this thread,
prints ``stats_print`` and toggles the background thread. Prints one JSON object:
``version``, ``epoch0``/``epoch1``, the ``Stats`` fields ``before``/``during``/
``after_free``/``after_purge``, ``mib_during`` (``stats.allocated`` read by MIB),
``thread_delta``, ``thread_pointer_matches``, ``report_version``,
``report_allocated``, ``bg`` ([background_thread, max_background_threads]) and
``bg_off``. Run it with decay off (``_RJEM_MALLOC_CONF=dirty_decay_ms:-1,...``).
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

from jemalloc_sys import ctl


def main() -> None:
    a = ctl.default()
    lib = a.handle
    malloc = getattr(lib, a.prefix + "malloc")
    malloc.restype = ctypes.c_void_p
    malloc.argtypes = [ctypes.c_size_t]
    free = getattr(lib, a.prefix + "free")
    free.argtypes = [ctypes.c_void_p]
    out: dict[str, Any] = {"version": a.version, "epoch0": a.epoch()}
    out["before"] = a.stats().__dict__
    mib = a.mib("stats.allocated")
    blocks = [malloc(1 << 20) for _ in range(64)]
    for b in blocks:
        ctypes.memset(b, 1, 1 << 20)
    out["during"] = a.stats().__dict__
    out["mib_during"] = mib.get()
    out["epoch1"] = a.epoch()
    for b in blocks:
        free(b)
    out["after_free"] = a.stats().__dict__
    a.purge()
    out["after_purge"] = a.stats().__dict__
    t0 = a.thread_allocated()
    p = malloc(3 << 20)
    out["thread_delta"] = a.thread_allocated() - t0
    allocp, _deallocp = a.thread_counters()
    out["thread_pointer_matches"] = allocp.contents.value == a.thread_allocated()
    free(p)
    report = a.stats_print()
    out["report_version"] = report["jemalloc"]["version"]
    out["report_allocated"] = report["jemalloc"]["stats"]["allocated"]
    a.max_background_threads = 1
    a.background_thread = True
    out["bg"] = [a.background_thread, a.max_background_threads]
    a.background_thread = False
    out["bg_off"] = a.background_thread
    a.decay()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
