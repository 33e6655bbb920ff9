"""A second build of an unchanged configuration reuses the first instead of compiling again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jemalloc_build.build import BuildResult

pytestmark = pytest.mark.build


def test_unchanged_configuration_is_reused(build: Callable[..., BuildResult]) -> None:
    first = build()
    before = first.library.stat().st_mtime_ns
    second = build()
    assert second.reused
    assert second.root == first.root
    assert second.library.stat().st_mtime_ns == before


def test_a_changed_setting_is_a_different_entry(build: Callable[..., BuildResult]) -> None:
    base = build()
    stats = build(JEMALLOC_SYS_FEATURES="stats")
    assert stats.root != base.root
    assert "--enable-stats" in stats.record["configure_args"]


def test_asking_for_upstream_tests_is_not_satisfied_by_an_untested_entry() -> None:
    from jemalloc_build import build as build_mod
    from jemalloc_build import configure, manifest, source
    from jemalloc_build.platforms import parse_triple
    from jemalloc_build.settings import resolve
    from jemalloc_build.toolchain import detect

    tc = detect()
    plan = configure.plan(resolve(environ={}), target=parse_triple("x86_64-linux-gnu"), cross=False,
                          manifest=manifest.load(), known_options=None)
    src = source.Source(tree=build_mod.Path("/nonexistent"), sha256="0" * 64, origin="test")
    assert build_mod._cache_key(plan, tc, src) != build_mod._cache_key(plan, tc, src, upstream_tests=True)
