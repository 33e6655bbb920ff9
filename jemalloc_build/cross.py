"""Cross targets: how to build the library for a platform this machine is not.

Wheels for manylinux, musllinux, macOS and Windows are normally built on CI
runners of each platform (cibuildwheel). This module is the other road: one
Linux machine builds them all with cross toolchains from the package registries
(PyPI ``ziglang``; Debian ``gcc-mingw-w64-x86-64``), so each platform's library
can be built, inspected and, where an emulator exists (qemu-user, wine), run
here. Every cross build still goes through :func:`jemalloc_build.build.build_jemalloc`:
this module only says which environment that builder must see.

API for wheel builders (part A of issue #5)::

    from jemalloc_build import cross
    target = cross.get("manylinux-aarch64")          # or any name in cross.TARGETS
    env = {**os.environ, **cross.environment(target)}
    # run `python -m jemalloc_build build`, `pip wheel .` or `python -m build` with env
    cross.wheel_platform_tag(target)                 # 'manylinux_2_17_aarch64'

:func:`environment` returns ``CC``/``AR``/``RANLIB``/``NM``, extra flags,
``JEMALLOC_SYS_TARGET`` (the GNU triple the builder gives ``configure --host``),
``MACOSX_DEPLOYMENT_TARGET`` and ``_PYTHON_HOST_PLATFORM`` (so setuptools names the
wheel for the target rather than for this machine; a manylinux/musllinux tag
comes from :func:`wheel_platform_tag`). Files it needs (the macOS header stub)
are written into ``tools_dir``, by default a ``cross-tools`` folder in the
builder's cache; keep that folder stable, since its path is part of the flags and
so of the build cache key. :func:`missing_tools` names what is absent for a
build; :func:`runner` gives the command prefix that runs a target program here
(``[]`` natively, qemu-user or wine), or None when nothing can run it.

Facts behind the table (docs/design.md, "Cross builds"):

* zig's own cache can return objects compiled under other configure settings,
  so the builder gives every zig build a private ``ZIG_LOCAL_CACHE_DIR`` (where
  compiled objects go) and shares only the global one (libc stubs, compiler-rt,
  libunwind; :func:`build_env`).
* ``zig cc -target <arch>-linux-gnu.2.17`` links against glibc 2.17 symbol
  versions: a manylinux2014 library without a container.
* zig's Darwin headers lack ``sys/syscall.h``; jemalloc's configure only probes
  it, so an empty stub on an ``-idirafter`` path is enough. Darwin builds also need
  a Mach-O-capable ``nm`` (``llvm-nm``): with GNU nm jemalloc's private-namespace
  step silently does nothing and internals are exported unprefixed.
* mingw-w64 gcc links ``libgcc_s_seh-1.dll`` unless given ``-static-libgcc``.
"""

from __future__ import annotations

import functools
import logging
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SettingError

log = logging.getLogger(__name__)

ZIG = "zig"
MINGW = "mingw"

DARWIN_STUB = "/* Empty stand-in written by jemalloc_build.cross: zig's macOS headers lack this file,\n" \
              " * which jemalloc's configure only probes for (the syscall() path is unused on macOS). */\n"


@dataclass(frozen=True, kw_only=True)
class CrossTarget:
    """One platform reachable from a Linux x86-64 machine, as data."""

    name: str
    triple: str
    """GNU triple: ``JEMALLOC_SYS_TARGET`` and so ``configure --host``."""
    wheel_tag: str
    """The wheel platform tag a library built this way deserves."""
    python_host_platform: str
    """``_PYTHON_HOST_PLATFORM``: what setuptools/sysconfig report as the platform."""
    compiler: str = ZIG
    zig_target: str = ""
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    extra_ldflags: tuple[str, ...] = ()
    """Flags for the library link only (jemalloc's EXTRA_LDFLAGS), not for configure's probes."""
    nm: str = ""
    """Which ``nm`` configure must use; '' keeps its default (GNU nm reads every ELF)."""
    darwin_stub: bool = False
    deployment_target: str = ""
    run_with: tuple[str, ...] | None = None
    """Command prefix that runs a target program here ([] = natively); None: nothing can."""
    run_needs: tuple[str, ...] = ()
    """Files that must exist to run (emulator, sysroot, loader), with the Debian package providing them."""
    run_packages: tuple[str, ...] = ()
    program_flags: tuple[str, ...] = ()
    """Flags for a test program that dlopens the library (zig links musl programs statically, and a
    static program cannot dlopen)."""
    notes: str = ""
    env: dict[str, str] = field(default_factory=dict)


def _linux(arch: str, zig_arch: str, triple: str, *, qemu: str = "", sysroot: str = "",
           package: str = "", glibc: str = "2.17", cflags: tuple[str, ...] = (), notes: str = "") -> CrossTarget:
    run_with: tuple[str, ...] | None = ()
    needs: tuple[str, ...] = ()
    if qemu:
        run_with = (f"/usr/bin/{qemu}", "-L", sysroot)
        needs = (f"/usr/bin/{qemu}", sysroot)
    return CrossTarget(
        name=f"manylinux-{arch}",
        triple=triple,
        wheel_tag=f"manylinux_{glibc.replace('.', '_')}_{arch}",
        python_host_platform=f"linux-{arch}",
        zig_target=f"{zig_arch}-linux-{'gnueabihf' if zig_arch == 'arm' else 'gnu'}.{glibc}",
        cflags=cflags,
        run_with=run_with,
        run_needs=needs,
        run_packages=("qemu-user-static", package) if qemu else (),
        notes=notes or "glibc 2.17 symbol versions (manylinux2014) from zig, no container",
    )


TARGETS: dict[str, CrossTarget] = {t.name: t for t in (
    _linux("x86_64", "x86_64", "x86_64-linux-gnu", notes="runs natively; glibc 2.17 symbols from zig"),
    _linux("aarch64", "aarch64", "aarch64-linux-gnu", qemu="qemu-aarch64-static",
           sysroot="/usr/aarch64-linux-gnu", package="libc6-arm64-cross"),
    _linux("i686", "x86", "i686-linux-gnu", notes="runs natively with Debian libc6-i386"),
    _linux("armv7l", "arm", "arm-linux-gnueabihf", qemu="qemu-arm-static",
           sysroot="/usr/arm-linux-gnueabihf", package="libc6-armhf-cross"),
    _linux("ppc64le", "powerpc64le", "powerpc64le-linux-gnu", qemu="qemu-ppc64le-static",
           sysroot="/usr/powerpc64le-linux-gnu", package="libc6-ppc64el-cross", glibc="2.19",
           cflags=("-mabi=ibmlongdouble",),
           notes="zig provides no glibc older than 2.19 for ppc64le (\"unable to provide libc for"
                 " target powerpc64le-linux-gnu.2.17\"), hence manylinux_2_19; its headers default to"
                 " IEEE128 long double, whose printf (__printfieee128, glibc 2.32) old glibc lacks,"
                 " so the IBM long double ABI of manylinux2014 is asked for"),
    _linux("s390x", "s390x", "s390x-linux-gnu", qemu="qemu-s390x-static",
           sysroot="/usr/s390x-linux-gnu", package="libc6-s390x-cross",
           notes="big-endian; runs under qemu-s390x-static"),
    CrossTarget(
        name="musllinux-x86_64", triple="x86_64-linux-musl", wheel_tag="musllinux_1_2_x86_64",
        python_host_platform="linux-x86_64", zig_target="x86_64-linux-musl",
        run_with=(), run_needs=("/lib/ld-musl-x86_64.so.1",), run_packages=("musl",), program_flags=("-dynamic",),
        notes="zig's musl; test programs run with Debian's musl loader",
    ),
    CrossTarget(
        name="windows-amd64", triple="x86_64-w64-mingw32", wheel_tag="win_amd64",
        python_host_platform="win-amd64", zig_target="x86_64-windows-gnu",
        extra_ldflags=("-Wl,--out-implib,lib/jemalloc_sys.lib",),
        run_with=("/usr/lib/wine/wine64",), run_needs=("/usr/lib/wine/wine64",), run_packages=("wine64",),
        notes="zig links the UCRT; --out-implib writes the import library jemalloc_sys.lib",
    ),
    CrossTarget(
        name="windows-amd64-mingw", triple="x86_64-w64-mingw32", wheel_tag="win_amd64",
        python_host_platform="win-amd64", compiler=MINGW,
        ldflags=("-static-libgcc",),
        extra_ldflags=("-Wl,--out-implib,lib/jemalloc_sys.lib", "-Wl,--no-insert-timestamp"),
        run_with=("/usr/lib/wine/wine64",), run_needs=("/usr/lib/wine/wine64",), run_packages=("wine64",),
        notes="Debian mingw-w64 gcc against msvcrt; -static-libgcc drops libgcc_s_seh-1.dll",
    ),
    CrossTarget(
        name="macos-x86_64", triple="x86_64-apple-darwin", wheel_tag="macosx_10_13_x86_64",
        python_host_platform="macosx-10.13-x86_64", zig_target="x86_64-macos.10.13",
        nm="llvm-nm", darwin_stub=True, deployment_target="10.13", run_with=None,
        notes="cross-built only: Mach-O checked, nothing here runs it",
    ),
    CrossTarget(
        name="macos-arm64", triple="aarch64-apple-darwin", wheel_tag="macosx_11_0_arm64",
        python_host_platform="macosx-11.0-arm64", zig_target="aarch64-macos.11.0",
        nm="llvm-nm", darwin_stub=True, deployment_target="11.0", run_with=None,
        notes="cross-built only; Apple silicon needs a deployment target of at least 11.0",
    ),
)}


def get(name: str) -> CrossTarget:
    """The table entry ``name``, or a one-line error listing the accepted names."""
    try:
        return TARGETS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, TARGETS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SettingError(f"cross target {name!r} is unknown{hint}; accepted: {', '.join(TARGETS)}") from None


def wheel_platform_tag(target: CrossTarget | str) -> str:
    return (get(target) if isinstance(target, str) else target).wheel_tag


def zig_executable(python: str = sys.executable) -> str:
    """The ``zig`` program of the ``ziglang`` package in ``python``'s environment.

    The package's own entry point is ``python -m ziglang``, which execs this binary;
    configure and make run the compiler some 500 times per library, and a Python
    start-up each time cost about 15 s of every build (measured), so the builder
    runs the binary directly, by absolute path (configure never searches PATH for it).
    """
    return _zig_executable(python)


@functools.cache
def _zig_executable(python: str) -> str:
    import subprocess

    code = "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SettingError(f"zig: the ziglang package is not installed for {python}; pip install ziglang")
    return proc.stdout.strip() + (".exe" if sys.platform == "win32" else "")


def _zig(python: str, *args: str) -> str:
    return shlex.join([zig_executable(python), *args])


def compiler_command(target: CrossTarget, *, python: str = sys.executable) -> list[str]:
    """The C compiler for ``target`` as an argument list (also used to build test programs).

    ``python`` is the interpreter whose environment has the ``ziglang`` package
    (wheel_builder passes its tool environment's).
    """
    if target.compiler == ZIG:
        return [zig_executable(python), "cc", "-target", target.zig_target]
    return ["x86_64-w64-mingw32-gcc"]


def _has_module(python: str, module: str) -> bool:
    if python == sys.executable:
        import importlib.util

        return importlib.util.find_spec(module) is not None
    import subprocess

    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0


def missing_tools(target: CrossTarget, *, python: str = sys.executable) -> list[str]:
    """What this machine lacks to build ``target``, each with how to get it; [] when ready."""
    missing = []
    if target.compiler == ZIG:
        if not _has_module(python, "ziglang"):
            missing.append(f"zig (pip install ziglang, for {python})")
    elif shutil.which("x86_64-w64-mingw32-gcc") is None:
        missing.append("x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)")
    if target.nm and shutil.which(target.nm) is None:
        missing.append(f"{target.nm} (apt-get install llvm)")
    return missing


def runner(target: CrossTarget) -> list[str] | None:
    """Command prefix that runs a ``target`` program here, or None when nothing can."""
    if target.run_with is None:
        return None
    if any(not Path(p).exists() for p in target.run_needs):
        return None
    return list(target.run_with)


def missing_runtime(target: CrossTarget) -> str:
    """Why :func:`runner` is None, as an install hint ('' when it is not None)."""
    if target.run_with is None:
        return f"no emulator for {target.name} on this machine"
    absent = [p for p in target.run_needs if not Path(p).exists()]
    if absent:
        return f"{', '.join(absent)} missing (apt-get install {' '.join(target.run_packages)})"
    return ""


def environment(target: CrossTarget | str, tools_dir: Path, *, python: str = sys.executable) -> dict[str, str]:
    """Environment variables that make the builder (and setuptools) produce ``target``.

    Merge it over the environment of the process that builds. ``tools_dir`` keeps the
    files the flags point at (the macOS header stub): keep it stable, since its path is
    part of the flags and so of the build cache key. Raises SettingError naming the
    missing tool when ``target`` cannot be built here.
    """
    target = get(target) if isinstance(target, str) else target
    missing = missing_tools(target, python=python)
    if missing:
        raise SettingError(f"cross target {target.name}: {'; '.join(missing)} not found; install it and retry")
    cflags = list(target.cflags)
    cppflags: list[str] = []
    if target.darwin_stub:
        # CPPFLAGS, not CFLAGS: jemalloc's Makefile also runs `$(CC) -MM $(CPPFLAGS)` for
        # dependency files, and that second run must find the stub too.
        cppflags += ["-idirafter", str(_darwin_stub_dir(tools_dir))]
    env = {
        "JEMALLOC_SYS_TARGET": target.triple,
        "CC": shlex.join(compiler_command(target, python=python)),
        "_PYTHON_HOST_PLATFORM": target.python_host_platform,
    }
    if target.compiler == ZIG:
        env["AR"] = _zig(python, "ar")
        env["RANLIB"] = _zig(python, "ranlib")
    else:
        env["AR"] = "x86_64-w64-mingw32-ar"
        env["RANLIB"] = "x86_64-w64-mingw32-ranlib"
        env["NM"] = "x86_64-w64-mingw32-nm"
    if target.nm:
        env["NM"] = shutil.which(target.nm) or target.nm
    if cflags:
        env["CFLAGS"] = shlex.join(cflags)
    if cppflags:
        env["CPPFLAGS"] = shlex.join(cppflags)
    if target.ldflags:
        env["LDFLAGS"] = shlex.join(target.ldflags)
    if target.extra_ldflags:
        env["EXTRA_LDFLAGS"] = shlex.join(target.extra_ldflags)
    if target.deployment_target:
        env["MACOSX_DEPLOYMENT_TARGET"] = target.deployment_target
    env.update(target.env)
    log.info("cross target %s: %s", target.name, " ".join(f"{k}={v}" for k, v in env.items()))
    return env


def _darwin_stub_dir(tools_dir: Path) -> Path:
    folder = Path(tools_dir) / "darwin-include"
    header = folder / "sys" / "syscall.h"
    if not header.is_file() or header.read_text(encoding="utf-8") != DARWIN_STUB:
        header.parent.mkdir(parents=True, exist_ok=True)
        header.write_text(DARWIN_STUB, encoding="utf-8")
    return folder


def build_env(cc: tuple[str, ...], build_dir: Path, *, shared: Path,
              environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Per-build environment the builder adds for zig: one shared global cache, a private local one.

    zig's global cache holds what it builds for a target once and for all (glibc
    stubs, compiler-rt, libunwind: about 30 s of every cold configure); sharing it
    across builds is what makes zig builds as fast as gcc's. Compiled C objects go
    to the local cache, private to ``build_dir``: zig once handed an ``lg_page=12``
    build the objects of an earlier ``lg_page=16`` one (jemalloc includes its
    generated headers by relative path), so objects are never shared across builds.
    A ``ZIG_GLOBAL_CACHE_DIR`` already in ``environ`` is kept (a caller's shared cache).
    """
    if not any("zig" in part for part in cc):
        return {}
    return {"ZIG_GLOBAL_CACHE_DIR": (environ or {}).get("ZIG_GLOBAL_CACHE_DIR") or str(shared),
            "ZIG_LOCAL_CACHE_DIR": str(build_dir / "zig-local-cache")}
