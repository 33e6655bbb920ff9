"""The preload library and the runner: ``jemalloc-sys run``, ``preload-path``, ``preload_env()``.

The runner's children are real processes started through the console entry
(``python -m jemalloc_sys.cli``), and they check from the inside that their
``malloc`` is jemalloc 5.3.1 by asking their own allocator.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import JEMALLOC_VERSION, last_json, program, run_cli, run_program

from jemalloc_sys import _elf

pytestmark = [pytest.mark.build,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD runner is Linux-only")]

LIBM = "/lib/x86_64-linux-gnu/libm.so.6" if Path("/lib/x86_64-linux-gnu/libm.so.6").exists() else None


def test_run_child_reports_jemalloc_and_keeps_the_environment(stats_package: Path) -> None:
    env = dict(os.environ, MALLOC_CONF="dirty_decay_ms:2000")
    if LIBM:
        env["LD_PRELOAD"] = LIBM
    child = program("process_allocator_report.py")
    proc = run_cli(stats_package, "run", "--conf", "narenas:3", "--", sys.executable, str(child), env=env)
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert out["version"] == JEMALLOC_VERSION
    assert out["narenas"] == 3  # --conf reached the child's allocator
    assert out["allocated"] > 0
    assert "libjemalloc_sys_preload.so.2" in out["label"]
    preload = out["ld_preload"].split(":")
    assert preload[0].endswith("libjemalloc_sys_preload.so.2")
    if LIBM:
        assert LIBM in preload  # the existing entry survives
    assert out["malloc_conf"] == "dirty_decay_ms:2000,narenas:3"  # added after, never replacing


def test_preload_path_is_an_unprefixed_initial_exec_library(stats_package: Path) -> None:
    proc = run_cli(stats_package, "preload-path")
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip())
    assert path.is_file() and path.parent == stats_package / "jemalloc_sys" / "lib"
    info = _elf.read(path)
    # It answers as the in-process library (issue 14): an extension's DT_NEEDED binds to it by soname.
    assert info.soname == "libjemalloc_sys.so.2"
    assert {"malloc", "free", "mallctl"} <= set(info.exported())
    assert info.static_tls  # initial-exec TLS: fine for a library loaded at start-up


def test_preload_env_for_subprocess(stats_package: Path) -> None:
    out: dict[str, Any] = last_json(run_program(stats_package, "preload_env.py").stdout)
    env = out["env"]
    parts = env["LD_PRELOAD"].split(":")
    assert parts[0].endswith("libjemalloc_sys_preload.so.2") and parts[1:] == ["/x/liba.so", "/x/libb.so"]
    assert env["MALLOC_CONF"] == "narenas:2,background_thread:true,dirty_decay_ms:0"
    assert env["KEEP"] == "1" and env["PYTHONMALLOC"] == "malloc"
    assert out["base"]["LD_PRELOAD"] == "/x/liba.so /x/libb.so"  # the caller's mapping is not modified
    assert out["again"] == env["LD_PRELOAD"]  # applying twice does not stack the library twice
    assert out["typo"][0] == "ConfError" and "did you mean 'narenas'" in out["typo"][1]
    assert out["pair"][0] == "ConfError" and "key:value" in out["pair"][1]
    assert out["profile"][0] == "ProfilingUnavailableError"
    assert "jemalloc-sys[profiling]" in out["profile"][1] and "JEMALLOC_SYS_FEATURES=profiling" in out["profile"][1]


def test_run_errors_are_one_line_and_nonzero(stats_package: Path, tmp_path: Path) -> None:
    missing = run_cli(stats_package, "run", "--", "no-such-command-jemalloc-sys")
    assert missing.returncode == 127
    assert missing.stderr.strip().count("\n") == 0 and "no-such-command-jemalloc-sys" in missing.stderr
    bad = run_cli(stats_package, "run", "--conf", "narenaz:2", "--", "true")
    assert bad.returncode == 1 and "did you mean 'narenas'" in bad.stderr and bad.stderr.strip().count("\n") == 0
    empty = run_cli(stats_package, "run")
    assert empty.returncode == 2 and "no command given" in empty.stderr
    no_prof = run_cli(stats_package, "run", "--profile", str(tmp_path / "out"), "--", "true")
    assert no_prof.returncode == 1 and "jemalloc-sys[profiling]" in no_prof.stderr
