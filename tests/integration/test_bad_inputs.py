"""Bad input: one line naming the input and the fix, a non-zero exit, and nothing left behind.

Each case runs the builder's command line (the same settings chain and build
functions as ``pip install``) with a private cache folder, then checks that no
build entry appeared. A few cases also go through ``pip install`` into a fresh
virtual environment, to show that no package is installed.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import TARBALL, base_env, needs_tarball, run_jemalloc_build

pytestmark = [pytest.mark.build, needs_tarball]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def builds_in(cache: Path) -> list[Path]:
    folder = cache / "builds"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def private_env(tmp_path: Path) -> dict[str, str]:
    return base_env(JEMALLOC_SYS_CACHE_DIR=str(tmp_path / "cache"))


def corrupt_copy(tmp_path: Path, *, truncate: bool = False) -> Path:
    assert TARBALL is not None
    data = bytearray(TARBALL.read_bytes())
    if truncate:
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    out = tmp_path / TARBALL.name
    out.write_bytes(bytes(data))
    return out


def evil_tarball(tmp_path: Path) -> Path:
    out = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(out, "w:gz") as archive:
        archive.add(payload, arcname="jemalloc-jemalloc-81034ce/../../escaped")
    return out


def tree_without_configure(tmp_path: Path) -> Path:
    assert TARBALL is not None
    with tarfile.open(TARBALL) as archive:
        archive.extractall(tmp_path / "src", filter="data")
    tree = next((tmp_path / "src").iterdir())
    assert not (tree / "configure").exists()
    return tree


def path_without(tmp_path: Path, program: str) -> str:
    """A PATH that offers every program of the current PATH except ``program``."""
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.listdir(folder):
            target = shadow / entry
            if entry != program and not target.exists():
                target.symlink_to(Path(folder) / entry)
    return str(shadow)


# (id, env changes, text the one line must contain: the input's name, then the fix)
CASES: list[tuple[str, dict[str, str], tuple[str, ...]]] = [
    ("unknown-feature", {"JEMALLOC_SYS_FEATURES": "profilng"}, ("JEMALLOC_SYS_FEATURES", "did you mean 'profiling'")),
    ("bg-threads-without-runtime-support",
     {"JEMALLOC_SYS_FEATURES": "background_threads,-background_threads_runtime_support"},
     ("background_threads", "requires 'background_threads_runtime_support'")),
    ("lg-page-not-a-number", {"JEMALLOC_SYS_WITH_LG_PAGE": "abc"}, ("JEMALLOC_SYS_WITH_LG_PAGE", "whole number from 12 to 16")),
    ("lg-page-out-of-range", {"JEMALLOC_SYS_WITH_LG_PAGE": "20"}, ("JEMALLOC_SYS_WITH_LG_PAGE=20", "accepted: 12 to 16")),
    ("lg-quantum-out-of-range", {"JEMALLOC_SYS_WITH_LG_QUANTUM": "1"}, ("JEMALLOC_SYS_WITH_LG_QUANTUM=1", "accepted: 3 to 7")),
    ("hugepage-below-page", {"JEMALLOC_SYS_WITH_LG_PAGE": "16", "JEMALLOC_SYS_WITH_LG_HUGEPAGE": "13"},
     ("JEMALLOC_SYS_WITH_LG_HUGEPAGE=13", "from 16 to 30")),
    ("malloc-conf-malformed", {"JEMALLOC_SYS_WITH_MALLOC_CONF": "narenas"},
     ("JEMALLOC_SYS_WITH_MALLOC_CONF", "key:value")),
    ("malloc-conf-unknown-key", {"JEMALLOC_SYS_WITH_MALLOC_CONF": "backgroud_thread:true"},
     ("JEMALLOC_SYS_WITH_MALLOC_CONF", "did you mean 'background_thread'")),
    ("num-jobs-zero", {"JEMALLOC_SYS_NUM_JOBS": "0"}, ("JEMALLOC_SYS_NUM_JOBS=0", "accepted: 1 to 1024")),
    ("missing-compiler", {"CC": "/nonexistent/cc"}, ("CC=/nonexistent/cc", "set CC")),
    ("unwritable-cache", {"JEMALLOC_SYS_CACHE_DIR": "/dev/null/cache"},
     ("JEMALLOC_SYS_CACHE_DIR", "set JEMALLOC_SYS_CACHE_DIR to a folder you can write")),
    ("missing-source-file", {"JEMALLOC_SYS_SOURCE": "/nonexistent/jemalloc.tar.gz"},
     ("JEMALLOC_SYS_SOURCE=/nonexistent/jemalloc.tar.gz", "does not exist")),
    ("override-missing", {"JEMALLOC_OVERRIDE": "/nonexistent/libjemalloc.so.2"},
     ("JEMALLOC_OVERRIDE=/nonexistent/libjemalloc.so.2", "point it at")),
    ("override-not-elf", {"JEMALLOC_OVERRIDE": "/etc/hostname"}, ("JEMALLOC_OVERRIDE=/etc/hostname", "point it at")),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_setting(private_env: dict[str, str], tmp_path: Path, changes: dict[str, str],
                     expected: tuple[str, ...]) -> None:
    env = {**private_env, **changes}
    proc = run_jemalloc_build("build", env=env)
    assert proc.returncode != 0
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert builds_in(tmp_path / "cache") == []


@pytest.mark.parametrize("kind", ["wrong-checksum", "truncated", "dotdot-member"])
def test_bad_tarball_is_refused_before_extraction(private_env: dict[str, str], tmp_path: Path, kind: str) -> None:
    bad = evil_tarball(tmp_path) if kind == "dotdot-member" else corrupt_copy(tmp_path, truncate=kind == "truncated")
    proc = run_jemalloc_build("build", env={**private_env, "JEMALLOC_SYS_SOURCE": str(bad)})
    assert proc.returncode != 0
    (line,) = error_lines(proc.stderr)
    assert f"JEMALLOC_SYS_SOURCE={bad}" in line
    expected = {"wrong-checksum": "expected aac0e7af", "truncated": "truncated", "dotdot-member": "truncated or wrong file"}
    assert expected[kind] in line
    assert not (tmp_path / "cache" / "sources").exists() or not any((tmp_path / "cache" / "sources").iterdir())
    assert not (tmp_path.parent / "escaped").exists()


def test_missing_autoconf(private_env: dict[str, str], tmp_path: Path) -> None:
    tree = tree_without_configure(tmp_path)
    env = {**private_env, "JEMALLOC_SYS_SOURCE": str(tree), "PATH": path_without(tmp_path, "autoconf")}
    proc = run_jemalloc_build("build", env=env)
    assert proc.returncode != 0
    (line,) = error_lines(proc.stderr)
    assert line.startswith("error: autoconf: not found") and "apt-get install autoconf" in line
    assert builds_in(tmp_path / "cache") == []


def test_configure_failure_shows_command_and_config_log(private_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_jemalloc_build("build", env={**private_env, "CFLAGS": "-Werror=no-such-warning-flag"})
    assert proc.returncode == 6
    (line,) = error_lines(proc.stderr)
    assert "configure failed" in line
    assert "$ sh " in proc.stderr and "--with-jemalloc-prefix=_rjem_" in proc.stderr
    assert "--- config.log ---" in proc.stderr and "no-such-warning-flag" in proc.stderr
    assert builds_in(tmp_path / "cache") == []


def test_make_failure_shows_the_end_of_its_output(private_env: dict[str, str], tmp_path: Path) -> None:
    # EXTRA_CFLAGS reaches only make (jemalloc keeps it out of configure's tests).
    proc = run_jemalloc_build("build", env={**private_env, "EXTRA_CFLAGS": "-Werror=no-such-warning-flag"})
    assert proc.returncode == 7
    (line,) = error_lines(proc.stderr)
    assert "make failed" in line
    assert "--- make output ---" in proc.stderr and "no-such-warning-flag" in proc.stderr
    assert builds_in(tmp_path / "cache") == []


# --- the same refusals through pip, into a fresh environment ---------------------------------------------------

def site_has_package(venv_dir: Path) -> bool:
    return any(p.name.startswith("jemalloc_sys") for p in venv_dir.glob("lib/python*/site-packages/*"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "args", "expected"),
    [
        ({"JEMALLOC_SYS_WITH_LG_PAGE": "abc"}, [], "JEMALLOC_SYS_WITH_LG_PAGE='abc' is not an integer"),
        ({}, ["-C", "featurs=stats"], "config setting 'featurs' is unknown (did you mean 'features'?)"),
        ({}, ["-C", "features=profilng"], "unknown feature 'profilng'"),
    ],
    ids=["bad-env", "unknown-config-key", "unknown-feature-via-config"],
)
def test_pip_install_fails_cleanly(project_copy: Path, fresh_venv: Path, tmp_path: Path, changes: dict[str, str],
                                   args: list[str], expected: str) -> None:
    env = {**base_env(JEMALLOC_SYS_CACHE_DIR=str(tmp_path / "cache")), **changes}
    pip = [str(fresh_venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-build-isolation"]
    proc = subprocess.run([*pip, *args, str(project_copy)], env=env, capture_output=True, text=True, timeout=900,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert not site_has_package(fresh_venv)
    assert builds_in(tmp_path / "cache") == []
