"""Names shared by the runtime package and the builder, declared once.

The builder (``jemalloc_build``, which travels in the sdist next to this package)
imports them from here, so the file the builder writes and the file the runtime
reads cannot drift apart. Constants only: importing this costs nothing.
"""

from __future__ import annotations

RECORD_NAME = "_build_record.json"
"""The build record inside an installed package (next to ``lib/``)."""

PREFIX_DATA = ("share", "jemalloc-sys")
"""Where a prefix install (the conda recipe) keeps its data, relative to the prefix."""

PREFIX_RECORD_NAME = "build-record.json"
"""The build record under :data:`PREFIX_DATA` (and in a builder cache entry)."""

TYPES_FILE = "_mallctl_types.json"
"""The mallctl name -> C type table, derived from the jemalloc source at build time."""

VARIANTS = ("base", "stats", "profiling", "debug")
"""Variant names, poorest to richest (``jemalloc_build.variants`` holds their features)."""

VARIANT_ENV = "JEMALLOC_SYS_VARIANT"
"""Run-time choice among the installed variants."""

BASE_PACKAGE = "jemalloc_sys"
"""The import package of the base distribution; a companion's is ``jemalloc_sys_<variant>``."""

CONF_PAIR = r"^[A-Za-z0-9_]+:[^,]*$"
"""One ``key:value`` of a malloc_conf string, as jemalloc's ``conf_next()`` parses it (values end at a comma)."""
