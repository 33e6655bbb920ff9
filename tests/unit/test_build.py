"""jemalloc_build.build: what keys a cache entry (nothing is built here; tests/integration/test_reuse.py builds)."""

from __future__ import annotations

import os


def test_asking_for_upstream_tests_is_not_satisfied_by_an_untested_entry() -> None:
    from jemalloc_build import build as build_mod
    from jemalloc_build import configure, manifest, source
    from jemalloc_build.platforms import parse_triple
    from jemalloc_build.settings import resolve
    from jemalloc_build.toolchain import detect

    tc = detect(environ=os.environ)
    plan = configure.plan(resolve(environ={}), target=parse_triple("x86_64-linux-gnu"), cross=False,
                          manifest=manifest.load(), known_options=None)
    src = source.Source(tree=build_mod.Path("/nonexistent"), sha256="0" * 64, origin="test")
    env: dict[str, str] = {}
    assert build_mod._cache_key(plan, tc, src, env) != build_mod._cache_key(plan, tc, src, env, upstream_tests=True)
