"""Child program of tests/integration/test_sdist_install.py: what the installed jemalloc_sys reports, as JSON.

Run by the fresh venv's interpreter; jemalloc's own ``config.*`` mallctls say how the
active library was really built.
"""

import json

import jemalloc_sys
from jemalloc_sys import ctl

allocator = ctl.default()
print(json.dumps({
    "variant": jemalloc_sys.variant(),
    "features": sorted(jemalloc_sys.features()),
    "config": {name: bool(allocator.read(f"config.{name}", "bool")) for name in ("stats", "prof", "debug")},
    "library": str(jemalloc_sys.library_path()),
}))
