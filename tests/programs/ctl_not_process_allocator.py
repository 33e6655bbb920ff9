"""Child of tests/integration/test_ctl.py: ``process_allocator()`` when malloc is not jemalloc.

No arguments; run without ``LD_PRELOAD``. Loads the prefixed library first (which
does not make jemalloc the process allocator), then prints as JSON the message of
the ``NotUnderJemallocError`` that ``jemalloc_sys.process_allocator()`` raises, or
``null`` if it raised nothing.
"""

from __future__ import annotations

import json

import jemalloc_sys
from jemalloc_sys import errors


def main() -> None:
    jemalloc_sys.load()  # a prefixed jemalloc in the process does not make it the allocator
    try:
        jemalloc_sys.process_allocator()
        print(json.dumps(None))
    except errors.NotUnderJemallocError as exc:
        print(json.dumps(str(exc)))


if __name__ == "__main__":
    main()
