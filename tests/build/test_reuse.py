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
