"""Test consumer of jemalloc-sys.

``jemalloc_sys.load()`` opens the active variant's libjemalloc_sys.so.2 with RTLD_GLOBAL;
importing the extension right after lets the dynamic loader satisfy its DT_NEEDED by soname.
"""

import jemalloc_sys

jemalloc_sys.load()

from ._probe import hold, library, release, usable  # noqa: E402

__all__ = ["hold", "library", "release", "usable"]
