"""The C programs, compiled with this machine's compiler: three builds of ``c/alloc_bench.c``.

The programs are the workload, not the allocator under test, so the host ``cc``
is right for them; what they link or preload comes from the wheelhouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).parent / "c" / "alloc_bench.c"
EXTENSION_SONAME = "libjemalloc_sys.so.2"


def _compile(out: Path, *flags: str) -> Path:
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-pthread", *flags, "-o", str(out), str(SOURCE), "-ldl"],
                   check=True)
    return out


def through_pointers(work: Path) -> Path:
    """malloc/free through function pointers; ``BENCH_LIB``/``BENCH_PREFIX`` switch to a dlopen'ed library."""
    return _compile(work / "alloc_bench")


def direct(work: Path) -> Path:
    """Direct ``malloc``/``free`` calls: the initial-exec reference when the preload library is LD_PRELOAD'ed."""
    return _compile(work / "alloc_direct", "-DBENCH_DIRECT")


def dynamic_section(binary: Path) -> str:
    """``readelf -d`` of ``binary`` ('' when binutils is missing: the checks below are then skipped)."""
    if shutil.which("readelf") is None:
        return ""
    return subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout


def linkage_problems(dynamic: str) -> list[str]:
    """What is wrong with an extension's ``readelf -d`` for issue 14's measurement: no DT_NEEDED, or a baked path."""
    if not dynamic:
        return []
    problems = []
    if f"[{EXTENSION_SONAME}]" not in dynamic:
        problems.append(f"no DT_NEEDED {EXTENSION_SONAME}")
    problems += [f"has {tag}" for tag in ("RPATH", "RUNPATH") if f"({tag})" in dynamic]
    return problems


def extension(work: Path, lib_dir: Path) -> Path:
    """Direct ``_rjem_malloc``/``_rjem_free`` calls, linked ``-L<package lib> -ljemalloc_sys`` with no rpath.

    This is how a C extension built against the package links: at run time the
    dynamic loader finds ``libjemalloc_sys.so.2`` by soname, either as the object
    the runner already preloaded or on ``LD_LIBRARY_PATH``.
    """
    out = work / "alloc_extension"
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-pthread", "-DBENCH_DIRECT", "-DBENCH_RJEM", "-o", str(out),
                    str(SOURCE), f"-L{lib_dir}", "-ljemalloc_sys", "-ldl"], check=True)
    problems = linkage_problems(dynamic_section(out))
    if problems:
        raise RuntimeError(f"{out.name}: {', '.join(problems)}")
    return out
