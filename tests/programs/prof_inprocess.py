"""Child of tests/integration/test_prof.py: profiling controls of ``ctl.default()`` and an in-process dump.

Usage: ``prof_inprocess.py LIBRARY HEAP`` with LIBRARY prof_known.c compiled against the
prefixed names (``-DCALLOC=_rjem_calloc -DMALLOC=_rjem_malloc``); run with
``_RJEM_MALLOC_CONF=prof:true,...``. Pauses and resumes profiling, resets the sample
rate to 2^12, allocates 100 blocks of 100,000 bytes in ``alloc_in_known_function`` and
dumps the profile to HEAP. Prints one JSON object: ``active`` and ``lg_sample`` at
start, and ``paused`` (prof.active after pausing).
"""

from __future__ import annotations

import ctypes
import json
import sys

from jemalloc_sys import ctl


def main() -> None:
    library, heap = sys.argv[1:3]
    a = ctl.default()  # loads the prefixed library RTLD_GLOBAL: the test library binds _rjem_calloc to it
    lib = ctypes.CDLL(library)
    out: dict[str, object] = {"active": a.prof_active, "lg_sample": a.prof_lg_sample}
    a.prof_active = False
    out["paused"] = a.prof_active
    a.prof_active = True
    a.prof_reset(12)
    lib.alloc_in_known_function(100, 100000)
    a.prof_dump(heap)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
