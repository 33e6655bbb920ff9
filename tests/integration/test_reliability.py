"""Reliability: jemalloc's own test suite on our exact configurations, stress under the
preload runner, and builds that are interrupted or raced.

What runs where (the docs' reliability page says the same):
- every CI run (``bash ci/test.sh``): upstream ``make tests`` + ``make check`` for the
  profiling variant's in-process library, built with the toolchain and flags of the
  wheels (zig here) and checked to be byte-identical to the shipped library; the
  preload stress tests on the shipped base libraries; the CPython test subset; the
  interrupted and the concurrent build (builder mechanics, with the host gcc).
- opt-in (``JEMALLOC_SYS_FULL_RELIABILITY=1 bash ci/test.sh -k reliability``): upstream
  tests for every variant we ship, both flavours (in-process and preload) each.

Builds that must really happen (upstream tests run only when the library is built,
interruption, races) use a private ``JEMALLOC_SYS_CACHE_DIR`` so the shared test cache
is never touched; the stress tests reuse the shared default package.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import (
    CLI,
    JEMALLOC_VERSION,
    PROGRAMS,
    ROOT,
    ZIG_CACHE,
    base_env,
    last_json,
    release_env,
    resolve_settings,
    run_program,
)

from jemalloc_build import build as build_mod
from jemalloc_build import variants

pytestmark = [pytest.mark.build,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reliability suite targets Linux")]

FULL = os.environ.get("JEMALLOC_SYS_FULL_RELIABILITY", "") == "1"
FULL_REASON = "the full upstream run (every variant, both flavours) is opt-in: JEMALLOC_SYS_FULL_RELIABILITY=1"

# --- jemalloc's own test suite ------------------------------------------------------------------------------


def _upstream(tmp_path: Path, build: Callable[..., build_mod.BuildResult], *, variant: str,
              flavour: str) -> list[str]:
    """Build in a private cache with JEMALLOC_SYS_RUN_JEMALLOC_TESTS=1; return the builder's report lines.

    The toolchain and flags are the wheels' (:func:`conftest.release_env`); the tested
    library must be byte for byte the one the shared cache ships for that variant.
    """
    lines: list[str] = []
    env = release_env(JEMALLOC_SYS_CACHE_DIR=str(tmp_path / "cache"), JEMALLOC_SYS_RUN_JEMALLOC_TESTS="1",
                      JEMALLOC_SYS_BUILD_VARIANT=variant, ZIG_GLOBAL_CACHE_DIR=str(ZIG_CACHE))
    result = build_mod.build_jemalloc(resolve_settings(env), environ=env, flavour=flavour, report=lines.append)
    assert not result.reused  # a reused entry would mean no test ran
    shipped = build(flavour=flavour, JEMALLOC_SYS_BUILD_VARIANT=variant)
    assert result.library.read_bytes() == shipped.library.read_bytes(), "the tested library is not the shipped one"
    return lines


def _check_summaries(lines: list[str]) -> None:
    summaries = [line for line in lines if "Test suite summary" in line]
    # make check runs the unit suite, the integration suite and its decay re-runs (prof re-runs too with profiling).
    assert len(summaries) >= 4, "\n".join(lines[-30:])
    for line in summaries:
        assert "fail: 0/" in line, line
        passed = int(line.split("pass: ")[1].split("/")[0])
        assert passed > 0, line


def test_upstream_suite_profiling_variant(tmp_path: Path, build: Callable[..., build_mod.BuildResult]) -> None:
    """CI subset: the profiling variant's in-process library, the toolchain and flags of the wheels.

    Profiling is the feature whose shipped build once crashed (issue 10) while a host-gcc
    build of the same flags passed this very suite.
    """
    _check_summaries(_upstream(tmp_path, build, variant="profiling", flavour="inprocess"))


FULL_MATRIX = [(v.name, flavour) for v in variants.VARIANTS for flavour in ("inprocess", "preload")
               if (v.name, flavour) != ("profiling", "inprocess")]  # the CI test above covers that one


@pytest.mark.skipif(not FULL, reason=FULL_REASON)
@pytest.mark.parametrize(("variant", "flavour"), FULL_MATRIX, ids=[f"{v}-{f}" for v, f in FULL_MATRIX])
def test_upstream_suite_every_variant(tmp_path: Path, build: Callable[..., build_mod.BuildResult], variant: str,
                                      flavour: str) -> None:
    _check_summaries(_upstream(tmp_path, build, variant=variant, flavour=flavour))


# --- stress under the preload runner ------------------------------------------------------------------------


def _run_under_jemalloc(site: Path, args: list[str], *, timeout: float, python_malloc: bool = True,
                        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    cmd = [*CLI, "run", *(["--python-malloc"] if python_malloc else []), "--", sys.executable, *args]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=cwd or tempfile.gettempdir())
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hung: {' '.join(args[:3])} did not finish within {timeout:.0f}s under jemalloc-sys run\n"
                    f"{(exc.stdout or b'')[-2000:]!r}")


def test_threads_free_each_others_objects(default_package: Path) -> None:
    proc = _run_under_jemalloc(default_package, [str(PROGRAMS / "cross_thread.py"), "12", "12", "3000"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["allocator"] == JEMALLOC_VERSION  # the child's malloc really was our jemalloc
    assert out["consumed"] == 12 * 3000
    assert out["bad"] == []


def test_fork_with_threads_alive(default_package: Path) -> None:
    proc = _run_under_jemalloc(default_package, [str(PROGRAMS / "fork_threads.py"), "6", "40", "30"], timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["allocator"] == JEMALLOC_VERSION
    assert out["hung"] == 0, out
    assert out["clean"] == 40, out


CPYTHON_TESTS = ("test_threading", "test_threading_local", "test_concurrent_futures", "test_mmap", "test_thread",
                 "test_queue")
"""Threads, thread-locals, executors, mmap: CPython's own tests of what an allocator can break."""


def _regrtest(site: Path | None, tests: list[str], report: Path) -> tuple[subprocess.CompletedProcess[str], set[str], int]:
    """Run CPython's regrtest (under jemalloc-sys run when ``site``); return the run, its failed cases, cases run."""
    args = ["-m", "test", "--timeout", "300", "--junit-xml", str(report), *tests]
    if site is not None:
        proc = _run_under_jemalloc(site, args, timeout=1500, cwd=report.parent)
    else:
        # The baseline differs only in the allocator: same PYTHONMALLOC=malloc, no preload.
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=1500, cwd=report.parent,
                              env={**env, "PYTHONMALLOC": "malloc"})
    if not report.is_file():
        pytest.fail(f"regrtest wrote no {report.name} (crashed?):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    cases = list(ElementTree.parse(report).getroot().iter("testcase"))
    failed = {f"{c.get('classname')}.{c.get('name')}" for c in cases
              if c.find("failure") is not None or c.find("error") is not None}
    return proc, failed, len(cases)


def test_cpython_suite_subset_under_jemalloc(default_package: Path, tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-c", "import test.support, test.libregrtest"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this Python has no test package (Debian: apt-get install libpython3-testsuite;"
                    " python.org builds include it)")
    testdir = Path(subprocess.run([sys.executable, "-c", "import test, os; print(os.path.dirname(test.__file__))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    present = [t for t in CPYTHON_TESTS if (testdir / f"{t}.py").is_file() or (testdir / t).is_dir()]
    if not present:
        pytest.skip(f"none of {', '.join(CPYTHON_TESTS)} is in {testdir}")
    proc, failed, ran = _regrtest(default_package, present, tmp_path / "jemalloc.xml")
    assert ran > 100, proc.stdout[-3000:]
    assert "Tests result: SUCCESS" in proc.stdout or failed, proc.stdout[-3000:] + proc.stderr[-2000:]
    if failed:
        # Only failures that this interpreter also has under its own malloc are acceptable
        # (e.g. environment-dependent tests); anything new is jemalloc's doing.
        _, baseline, _ = _regrtest(None, present, tmp_path / "glibc.xml")
        assert failed <= baseline, f"fail only under jemalloc: {sorted(failed - baseline)}\n{proc.stdout[-3000:]}"


# --- interrupted and concurrent builds ----------------------------------------------------------------------


def _entries(cache: Path) -> tuple[list[Path], list[Path]]:
    builds = cache / "builds"
    found = sorted(builds.iterdir()) if builds.is_dir() else []
    return [p for p in found if not p.name.startswith(".")], [p for p in found if p.name.startswith(".")]


def _pip_install(sdist: Path, target: Path, cache: Path) -> subprocess.Popen[str]:
    env = base_env(JEMALLOC_SYS_CACHE_DIR=str(cache), JEMALLOC_SYS_NUM_JOBS="2", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.Popen([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                             "--no-cache-dir", "--target", str(target), str(sdist)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, cwd=target.parent, preexec_fn=_ctrl_c_deliverable)


def _ctrl_c_deliverable() -> None:
    """SIGINT as a terminal delivers it: a suite started in the background (``cmd &``) inherits it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    until = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > until:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def test_sigint_during_make_leaves_nothing_and_next_build_succeeds_host_gcc(sdist: Path, tmp_path: Path) -> None:
    cache, target = tmp_path / "cache", tmp_path / "site"
    proc = _pip_install(sdist, target, cache)

    def compiling() -> bool:
        # make is running once an object file exists in a staged (dot-named) build folder.
        return any(cache.glob("builds/.*/obj/src/*.o"))

    try:
        _wait_for(compiling, 600, "make to start compiling")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches pip, the backend and make alike
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out[-2000:]
    complete, staged = _entries(cache)
    assert complete == [], f"an interrupted build left a cache entry: {complete}"
    assert staged == [], f"an interrupted build left its scratch folder: {staged}"
    assert not (target / "jemalloc_sys").exists(), "an interrupted install left a package behind"

    retry = _pip_install(sdist, target, cache)
    out, _ = retry.communicate(timeout=1800)
    assert retry.returncode == 0, out[-3000:]
    child = last_json(run_program(target, "load_report.py").stdout)
    assert child["version"] == JEMALLOC_VERSION


def test_two_builds_of_one_configuration_at_once_host_gcc(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = base_env(JEMALLOC_SYS_CACHE_DIR=str(cache), JEMALLOC_SYS_NUM_JOBS="1")
    racers = [subprocess.Popen([sys.executable, str(PROGRAMS / "race_build.py"), str(ROOT)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path) for _ in range(2)]
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=1800)
        assert racer.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0]["root"] == results[1]["root"]
    complete, staged = _entries(cache)
    assert [p.name for p in complete] == [Path(results[0]["root"]).name]
    assert staged == []
    record = json.loads((Path(results[0]["root"]) / build_mod.RECORD).read_text())
    assert Path(results[0]["library"]).is_file() and record["library"] == Path(results[0]["library"]).name
    # The published library is whole: it loads, and allocates through its prefixed API.
    child = run_program(None, "load_library.py", results[0]["library"])
    assert child.stdout.strip() == "ok"
    # And a third build now reuses it.
    again = subprocess.run([sys.executable, str(PROGRAMS / "race_build.py"), str(ROOT)], env=env, capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
    assert json.loads(again.stdout.strip().splitlines()[-1])["reused"] is True
