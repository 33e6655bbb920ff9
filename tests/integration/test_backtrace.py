"""The profiling backtrace method is verified after configure: no silent fallback reaches a package.

jemalloc's configure falls back quietly when its unwinder probe fails (issue 10:
zig had no libgcc, configure took the ``__builtin_return_address`` walk, and every
profiled process crashed). Here the probe is made to fail through autoconf's own
cache variable, the way a site configuration could; the builder must refuse.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import CACHE_DIR, release_env, resolve_settings

from jemalloc_build import build as build_mod
from jemalloc_build.errors import ConfigureError

pytestmark = pytest.mark.build


def test_the_shipped_profiling_build_records_the_table_method(build: Callable[..., build_mod.BuildResult]) -> None:
    result = build(JEMALLOC_SYS_BUILD_VARIANT="profiling")
    assert result.record["prof_backtrace"] == "libgcc"
    assert "--disable-prof-gcc" in result.record["configure_args"]


def test_a_failed_unwinder_probe_stops_the_build_instead_of_falling_back() -> None:
    # autoconf's cache variables are not part of our cache key; the define gives this build an entry of its own
    # (otherwise the shipped profiling entry would simply be reused and configure would never run).
    env = release_env(JEMALLOC_SYS_BUILD_VARIANT="profiling", ac_cv_lib_gcc__Unwind_Backtrace="no",
                      ac_cv_header_unwind_h="no", EXTRA_CFLAGS="-DJEMALLOC_SYS_TEST_PROBE_FAILS")
    before = set((CACHE_DIR / "builds").glob("*"))
    lines: list[str] = []
    with pytest.raises(ConfigureError) as info:
        build_mod.build_jemalloc(resolve_settings(env), environ=env, report=lines.append)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("jemalloc configure turned profiling off but this build asked for 'libgcc'")
    assert "JEMALLOC_SYS_PROF_BACKTRACE" in message
    assert set((CACHE_DIR / "builds").glob("*")) == before  # nothing was published
