"""``python -m jemalloc_sys``: print paths and facts for build systems and people.

One flag, one line (pybind11-config style), so shells can use ``$(...)``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex

import jemalloc_sys
from jemalloc_sys import _record
from jemalloc_sys.errors import JemallocError, report


def _cflags() -> str:
    return f"-I{shlex.quote(jemalloc_sys.get_include())}"


def _libs() -> str:
    libdir = jemalloc_sys.get_library_dir()
    library: str = _record.record()["library"]
    rpath = f"-Wl,-rpath,{shlex.quote(libdir)}"
    if library.endswith(".dylib"):
        # ld64 has no linker scripts and a wheel no lib<stem>.dylib symlink: name the file (not tested here).
        return f"{shlex.quote(os.path.join(libdir, library))} {rpath}"
    stem = library.split(".")[0].removeprefix("lib")
    if library.endswith(".dll"):
        return f"-L{shlex.quote(libdir)} -l{stem}"  # Windows: no rpath; load() adds the DLL folder (not tested here)
    # -l finds lib<stem>.so, a linker script naming the real file: a wheel cannot hold symlinks.
    return f"-L{shlex.quote(libdir)} -l{stem} {rpath}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jemalloc_sys", description=__doc__)
    parser.add_argument("--version", action="store_true", help="package and jemalloc versions")
    parser.add_argument("--features", action="store_true", help="build features, comma-separated")
    parser.add_argument("--include", action="store_true", help="include folder (holds jemalloc/jemalloc.h)")
    parser.add_argument("--libdir", action="store_true", help="folder of the shared library")
    parser.add_argument("--library", action="store_true", help="path of the shared library")
    parser.add_argument("--pkgconfigdir", action="store_true", help="folder of jemalloc-sys.pc (PKG_CONFIG_PATH)")
    parser.add_argument("--cmakedir", action="store_true", help="folder of jemalloc-sysConfig.cmake (jemalloc-sys_DIR)")
    parser.add_argument("--cflags", action="store_true", help="compiler flags")
    parser.add_argument("--libs", action="store_true", help="linker flags")
    parser.add_argument("--build-info", action="store_true", help="the build record as JSON")
    args = parser.parse_args(argv)
    try:
        out: list[str] = []
        if args.version:
            out.append(f"jemalloc-sys {jemalloc_sys.__version__} (jemalloc {jemalloc_sys.jemalloc_version})")
        if args.features:
            out.append(",".join(sorted(jemalloc_sys.features())))
        if args.include:
            out.append(jemalloc_sys.get_include())
        if args.libdir:
            out.append(jemalloc_sys.get_library_dir())
        if args.library:
            out.append(str(jemalloc_sys.library_path()))
        if args.pkgconfigdir:
            out.append(jemalloc_sys.get_pkgconfig_dir())
        if args.cmakedir:
            out.append(jemalloc_sys.get_cmake_dir())
        flags = [f() for wanted, f in ((args.cflags, _cflags), (args.libs, _libs)) if wanted]
        if flags:
            out.append(" ".join(flags))
        if args.build_info:
            out.append(json.dumps(jemalloc_sys.build_info(), indent=2, sort_keys=True))
    except JemallocError as exc:
        return report(exc, prog="python -m jemalloc_sys")
    if not out:
        parser.print_help()
        return 0
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
