"""One jemalloc per process: under the runner, extensions and the Python API use the process allocator.

Issue 14. The preload library carries the in-process library's soname and ``_rjem_``
names (``jemalloc_build/csrc/prefixed_aliases.c``), so an extension linked against
``libjemalloc_sys.so.2`` binds to the object ``LD_PRELOAD`` already loaded, and
``jemalloc_sys.load()`` finds it by soname. The extension is the setuptools consumer
of ``tests/consumers/setuptools_ext``, compiled here against one package and run
with another (every variant has the same ABI).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CLI, ROOT, last_json, program

pytestmark = [pytest.mark.build,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload runner is Linux-only")]

PROBE_C = ROOT / "tests" / "consumers" / "setuptools_ext" / "src" / "jemalloc_probe" / "_probe.c"
CHILD = program("one_jemalloc.py")


def _compile_extension(package: Path, dest: Path) -> Path:
    """The consumer extension, built against ``package``'s header and library (no rpath), as a package in ``dest``."""
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.skip("no C compiler")
    folder = dest / "jemalloc_probe"
    folder.mkdir(parents=True)
    shutil.copy(PROBE_C.parent / "__init__.py", folder / "__init__.py")
    out = folder / f"_probe{sysconfig.get_config_var('EXT_SUFFIX')}"
    jem = package / "jemalloc_sys"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", f"-I{sysconfig.get_paths()['include']}", f"-I{jem / 'include'}",
                    str(PROBE_C), f"-L{jem / 'lib'}", "-ljemalloc_sys", "-o", str(out)], check=True)
    needed = subprocess.run(["readelf", "-d", str(out)], capture_output=True, text=True).stdout
    assert "[libjemalloc_sys.so.2]" in needed and "RPATH" not in needed and "RUNPATH" not in needed
    return dest


@pytest.fixture(scope="module")
def extension(make_package: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built against the base package, as a consumer's wheel would be."""
    return _compile_extension(make_package(), tmp_path_factory.mktemp("ext"))


def _run(site: Path, extension: Path, *, runner: bool) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF", "PYTHONMALLOC")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(extension)])
    cmd = [sys.executable, str(CHILD)]
    if runner:
        cmd = [*CLI, "run", "--", *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
    assert proc.returncode == 0, f"{shlex.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, object] = last_json(proc.stdout)
    return result


def test_under_the_runner_the_extension_allocates_from_the_preloaded_jemalloc(stats_package: Path,
                                                                             extension: Path) -> None:
    out = _run(stats_package, extension, runner=True)
    preload = str(stats_package / "jemalloc_sys" / "lib" / "libjemalloc_sys_preload.so.2")
    assert out["extension_mallocx_from"] == preload  # dladdr of the extension's binding
    assert out["extension_mallctl_from"] == preload  # what answered the extension's mallctl
    assert out["load_mallctl_from"] == preload  # jemalloc_sys.load() is that object too
    assert out["jemallocs_mapped"] == [preload]  # one jemalloc in the process
    assert out["allocated_growth"] >= 64 << 20  # the extension's 64 MiB are the process allocator's
    assert out["default_equals_process"] is True  # ctl.default() and process_allocator() agree


def test_without_the_runner_the_extension_uses_the_in_process_library(stats_package: Path, extension: Path) -> None:
    out = _run(stats_package, extension, runner=False)
    inprocess = str(stats_package / "jemalloc_sys" / "lib" / "libjemalloc_sys.so.2")
    assert out["extension_mallocx_from"] == inprocess
    assert out["load_mallctl_from"] == inprocess
    assert out["jemallocs_mapped"] == [inprocess]
    assert out["allocated_growth"] >= 64 << 20
    assert out["default_equals_process"] is None  # glibc is the process allocator: nothing to compare
