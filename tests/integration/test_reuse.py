"""A second build of an unchanged configuration reuses the first instead of compiling again."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RELEASE_TARGET, release_env

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


@pytest.mark.skipif(RELEASE_TARGET == "host", reason="the release toolchain is the host's: no zig spelling to vary")
def test_the_same_commit_from_another_checkout_and_interpreter_spelling_reuses_the_cache(
        build: Callable[..., BuildResult], project_copy: Path, tmp_path: Path) -> None:
    """Issue 11: `.../python -m ziglang` and `.../python3 -m ziglang` are one compiler, so one cache entry."""
    first = build()
    spelled = tmp_path / "python3-another-name"
    spelled.symlink_to(sys.executable)
    env = release_env()
    # The spelling a user (or an older builder) writes: the ziglang entry point through another interpreter name.
    for name in ("CC", "AR", "RANLIB"):
        words = env[name].split()
        env[name] = " ".join([str(spelled), "-m", "ziglang", *words[1:]])
    proc = subprocess.run([str(spelled), "-m", "jemalloc_build", "build", "--json"], cwd=project_copy, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"reusing build {first.root}" in proc.stderr
    assert json.loads(proc.stdout)["inprocess"]["root"] == str(first.root)
