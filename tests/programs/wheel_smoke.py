"""Smoke and functional test of installed jemalloc-sys wheels: cibuildwheel's test command.

For every ``jemalloc_sys*`` package present, in its own child process (the
variants share a soname, so one process can hold only one of them): load the
library, allocate, and compare jemalloc's ``config.*`` mallctls with the
features the build record claims. Then the same functional checks
``python -m wheel_builder`` runs on the wheels it builds
(``wheel_builder/functional.py``: profiling names a known function in our report
and in jeprof, stats move, a background thread starts, fork with threads alive),
for every library of every package, so the wheels CI publishes pass exactly what
the local main command checks. They need a C compiler (``CC`` or ``cc``); where
there is none the script says so and fails, unless ``JEMALLOC_SYS_SMOKE_ONLY=1``
(set for Windows in ``[tool.cibuildwheel.windows]``: the probe is compiled with
GCC-style flags, which MSVC's cl does not take).

Works without the base installed, because cibuildwheel tests a companion wheel
alone (it cannot fetch its base pin). Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PACKAGES = ("jemalloc_sys", "jemalloc_sys_stats", "jemalloc_sys_profiling", "jemalloc_sys_debug")
CONFIG_FEATURE = {"stats": "stats", "prof": "profiling", "debug": "debug"}


def check(package: str) -> str:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, f"{package} is not importable"
    folder = Path(spec.origin).parent
    record = json.loads((folder / "_build_record.json").read_text(encoding="utf-8"))
    library = folder / "lib" / record["library"]
    if sys.platform == "win32":
        os.add_dll_directory(str(library.parent))
    handle = ctypes.CDLL(str(library))
    prefix = record["symbol_prefix"]
    mallctl = getattr(handle, prefix + "mallctl")
    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p,
                        ctypes.c_size_t]
    problems = []
    for name, feature in CONFIG_FEATURE.items():
        value = ctypes.c_bool()
        size = ctypes.c_size_t(ctypes.sizeof(value))
        rc = mallctl(f"config.{name}".encode(), ctypes.byref(value), ctypes.byref(size), None, 0)
        if rc != 0 or value.value != (feature in record["features"]):
            problems.append(f"config.{name}={value.value} (rc {rc}) vs features {record['features']}")
    malloc = getattr(handle, prefix + "malloc")
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    free = getattr(handle, prefix + "free")
    free.argtypes = [ctypes.c_void_p]
    pointer = malloc(1 << 20)
    if not pointer:
        problems.append("malloc returned NULL")
    free(pointer)
    extra = ""
    if package == "jemalloc_sys":
        import jemalloc_sys

        extra = f", active variant {jemalloc_sys.variant()}"
    if problems:
        raise SystemExit(f"{package}: " + "; ".join(problems))
    return f"{package}: {library.name} loads, allocates, config.* agrees with {','.join(record['features'])}{extra}"


def functional(package: str) -> int:
    """wheel_builder's functional checks on the package's libraries; returns the number that failed."""
    sys.path.append(str(PROJECT))  # after site-packages: the installed jemalloc_sys, the project's wheel_builder
    from wheel_builder import functional as checks

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).parent
    compiler = shlex.split(os.environ.get("CC", "") or "cc")
    if shutil.which(compiler[0]) is None:
        print(f"{package}: functional checks need a C compiler; {compiler[0]} not found (set CC)")
        return 1
    platform = checks.Platform(compiler=compiler, runner=[], windows=sys.platform == "win32")
    results, skipped = checks.run_checks(checks.libraries(folder), platform, bin_dir=folder / "bin")
    for name, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {package} {name}: {detail}")
    for line in skipped:
        print(f"skip {package} {line}")
    return sum(not ok for _, ok, _ in results)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--functional":
        return 1 if functional(sys.argv[2]) else 0
    if len(sys.argv) == 2:
        print(check(sys.argv[1]))
        return 0
    present = [p for p in PACKAGES if importlib.util.find_spec(p) is not None]
    if not present:
        print("no jemalloc_sys package is installed", file=sys.stderr)
        return 1
    smoke_only = os.environ.get("JEMALLOC_SYS_SMOKE_ONLY") == "1"
    failed = 0
    for package in present:
        for args in ([package], [] if smoke_only else ["--functional", package]):
            if not args:
                continue
            proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
            print((proc.stdout + proc.stderr).strip())
            failed += proc.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
