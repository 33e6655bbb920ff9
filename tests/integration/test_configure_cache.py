"""A library configured from another build's shared probe answers is the library configured from nothing.

The configure cache (jemalloc_build.configure_cache) lets configure runs of one group
skip the compiler probes: here the base variant's preload library publishes its
group's answers, the stats variant's in-process library (other prefix, other TLS
model, stats on: the same group) starts from them, and the same library built in an
empty cache must come out byte for byte the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import needs_tarball, release_env, resolve_settings

from jemalloc_build import build as build_mod

pytestmark = [pytest.mark.build, needs_tarball]


def _build(cache: Path, variant: str, flavour: str) -> tuple[build_mod.BuildResult, list[str]]:
    env = release_env(JEMALLOC_SYS_CACHE_DIR=str(cache), JEMALLOC_SYS_BUILD_VARIANT=variant)
    lines: list[str] = []
    result = build_mod.build_jemalloc(resolve_settings(env), environ=env, flavour=flavour, report=lines.append)
    return result, lines


def _from_shared_answers(lines: list[str]) -> bool:
    return any("probe answers from an earlier configure" in line for line in lines)


def test_shared_probe_answers_give_the_same_library(tmp_path: Path) -> None:
    _, first = _build(tmp_path / "shared", "base", "preload")
    assert not _from_shared_answers(first)  # an empty cache: configure asks everything
    assert len(list((tmp_path / "shared" / "configure-cache").glob("*.cache"))) == 1

    seeded, lines = _build(tmp_path / "shared", "stats", "inprocess")
    assert _from_shared_answers(lines)
    alone, lines = _build(tmp_path / "fresh", "stats", "inprocess")
    assert not _from_shared_answers(lines)

    assert seeded.record["configure_args"] == alone.record["configure_args"]
    assert seeded.library.read_bytes() == alone.library.read_bytes()
    assert (seeded.root / "include" / "jemalloc" / "jemalloc.h").read_bytes() == \
        (alone.root / "include" / "jemalloc" / "jemalloc.h").read_bytes()
