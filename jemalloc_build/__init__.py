"""The one builder of jemalloc-sys.

Every way of producing the package -- ``pip install`` from a checkout or an
sdist, ``python -m wheel_builder``, the conda recipe -- ends up in
:func:`jemalloc_build.build.build_jemalloc`. Nothing here is installed: it
travels in the sdist and is imported at build time only.
"""

from __future__ import annotations

BUILDER_VERSION = "1"
"""Bumped whenever a change here alters the built library; part of the cache key."""
