"""Child of the preload and service tests: the process allocator, asked from inside, under LD_PRELOAD.

No arguments; run under ``jemalloc-sys run`` or with ``LD_PRELOAD`` set (it reads
``LD_PRELOAD`` from its environment). Prints one JSON object:
``version``, ``narenas`` (``opt.narenas``), ``allocated`` (``stats.allocated``; null in a
build without the stats feature), ``label`` (which library answers) of
``jemalloc_sys.process_allocator()``, and the ``LD_PRELOAD`` and ``MALLOC_CONF`` the process
got (``ld_preload``, ``malloc_conf``).
"""

from __future__ import annotations

import json
import os

import jemalloc_sys
from jemalloc_sys import errors


def main() -> None:
    a = jemalloc_sys.process_allocator()
    try:
        allocated: int | None = a.stats().allocated
    except errors.FeatureMissingError:
        allocated = None
    print(json.dumps({"version": a.version, "narenas": a.get("opt.narenas"), "allocated": allocated,
                      "ld_preload": os.environ["LD_PRELOAD"], "malloc_conf": os.environ.get("MALLOC_CONF"),
                      "label": a.label}))


if __name__ == "__main__":
    main()
