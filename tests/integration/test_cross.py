"""Issue #5, "proof from this machine": libraries for other platforms, built with
cross toolchains through the one builder and run here where an emulator exists.

Each build is a zig (or mingw) build of a few minutes on 2 cores, cached in
``build/test-cache`` like every other build of the suite. A test whose
toolchain or emulator is missing skips and says what to install. The target table
and the cross configure plans alone are tested in tests/unit/test_cross.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CACHE_DIR, PROGRAMS, ROOT, ZIG_CACHE, base_env

from jemalloc_build import build as build_mod
from jemalloc_build import cross, platforms
from jemalloc_sys import _elf

ALLOC_C = PROGRAMS / "cross_alloc.c"
BLOCKS = 2000
EXPECTED_CHECKSUM = sum(i & 0xFF for i in range(BLOCKS))
"""What cross_alloc.c's checksum must be if every block kept the byte written into it."""
MORE_TARGETS = os.environ.get("JEMALLOC_SYS_TEST_MORE_TARGETS") == "1"
more_targets = pytest.mark.skipif(
    not MORE_TARGETS, reason="opt-in (JEMALLOC_SYS_TEST_MORE_TARGETS=1): a target beyond the default run's 60-minute"
    " budget; CI builds and runs manylinux x86_64 and aarch64 and musllinux x86_64, profiling included")
"""Targets the default run leaves out: Windows (zig and mingw-w64), macOS, s390x, aarch64 at
lg_page=12, i686/armv7l/ppc64le. Each is one or two builds of a few minutes."""

CrossBuild = Callable[..., build_mod.BuildResult]


@pytest.fixture(scope="session")
def cross_build(build: Callable[..., build_mod.BuildResult]) -> CrossBuild:
    """``cross_build(name, **env)``: the in-process library for the cross target ``name``."""

    def run(name: str, **extra: str) -> build_mod.BuildResult:
        target = cross.get(name)
        missing = cross.missing_tools(target)
        if missing:
            pytest.skip(f"cannot build {name} here: {'; '.join(missing)} not found")
        return build(toolchain=name, **extra)

    return run


def _compile(target: cross.CrossTarget, result: build_mod.BuildResult, out_dir: Path) -> Path:
    """Link tests/programs/cross_alloc.c against the built library with the target's own compiler."""
    lib_dir = result.root / "lib"
    env = {**os.environ, "ZIG_GLOBAL_CACHE_DIR": str(ZIG_CACHE),
           "ZIG_LOCAL_CACHE_DIR": str(CACHE_DIR / "zig-programs")}
    # -O2: zig's default (Debug) links its UBSan runtime, which needs newer libc symbols
    # (statx from musl 1.2.5) than the loaders here provide; the test is about the library.
    cmd = [*cross.compiler_command(target), *target.cflags, "-O2", str(ALLOC_C), "-I", str(result.root / "include")]
    if target.triple.endswith("mingw32"):
        program = out_dir / "alloc.exe"
        cmd += [str(lib_dir / result.record["import_library"]), "-o", str(program)]
        shutil.copy2(result.library, out_dir / result.library.name)  # Windows finds DLLs beside the program
    else:
        program = out_dir / "alloc"
        cmd += [str(result.library), f"-Wl,-rpath,{lib_dir}", "-o", str(program)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"$ {' '.join(cmd)}\n{proc.stderr}"
    return program


def _run(target: cross.CrossTarget, program: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    prefix = cross.runner(target)
    if prefix is None:
        pytest.skip(f"cannot run {target.name} programs here: {cross.missing_runtime(target)}")
    env = dict(os.environ)
    if prefix and prefix[0].endswith("wine64"):
        env.update(WINEPREFIX=str(CACHE_DIR / "wineprefix"), WINEDEBUG="-all")
    cmd = [*prefix[:1], *extra, *prefix[1:], str(program)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=program.parent)


def _assert_ok(proc: subprocess.CompletedProcess[str], *, page: int) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    line = proc.stdout.strip().splitlines()[-1]
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    assert line.startswith("ok "), line
    assert int(fields["page"]) == page
    assert fields["version"].startswith("5.3.1-")
    assert int(fields["checksum"]) == EXPECTED_CHECKSUM


# --- built and, where possible, run ----------------------------------------------------


def _newest_glibc(info: _elf.ELFInfo) -> tuple[int, ...]:
    newest = info.newest_version("GLIBC_")
    assert newest is not None, f"{info.path} needs no GLIBC_ symbol version at all: {info.version_needs}"
    return newest


@pytest.mark.build
def test_manylinux_x86_64_needs_nothing_newer_than_glibc_2_17(cross_build: CrossBuild, tmp_path: Path) -> None:
    result = cross_build("manylinux-x86_64")
    info = _elf.read(result.library)
    assert _newest_glibc(info) <= (2, 17), info.version_needs
    assert info.machine == 62  # EM_X86_64
    assert not [s for s in info.exported() if not s.startswith("_rjem_")]
    target = cross.get("manylinux-x86_64")
    _assert_ok(_run(target, _compile(target, result, tmp_path)), page=4096)


@pytest.mark.build
def test_manylinux_aarch64_runs_on_4k_16k_and_64k_kernels(cross_build: CrossBuild, tmp_path: Path) -> None:
    result = cross_build("manylinux-aarch64")
    info = _elf.read(result.library)
    assert info.machine == 183 and result.record["lg_page"] == 16  # EM_AARCH64
    assert _newest_glibc(info) <= (2, 17), info.version_needs
    target = cross.get("manylinux-aarch64")
    program = _compile(target, result, tmp_path)
    for page in (4096, 16384, 65536):
        proc = _run(target, program, "-p", str(page))
        _assert_ok(proc, page=65536)
        assert f"os_page={page} " in proc.stdout  # qemu really presented that kernel page size


@more_targets
@pytest.mark.build
def test_aarch64_lg_page_12_build_fails_on_a_64k_kernel(cross_build: CrossBuild, tmp_path: Path) -> None:
    """The check above can fail: a 4 KiB-page library refuses a 64 KiB kernel (crate #80)."""
    result = cross_build("manylinux-aarch64", JEMALLOC_SYS_WITH_LG_PAGE="12")
    assert result.record["lg_page"] == 12
    target = cross.get("manylinux-aarch64")
    program = _compile(target, result, tmp_path)
    _assert_ok(_run(target, program, "-p", "4096"), page=4096)
    proc = _run(target, program, "-p", "65536")
    assert proc.returncode != 0, proc.stdout
    assert "Unsupported system page size" in proc.stderr


@pytest.mark.build
def test_musllinux_x86_64_runs_a_program(cross_build: CrossBuild, tmp_path: Path) -> None:
    result = cross_build("musllinux-x86_64")
    info = _elf.read(result.library)
    assert info.newest_version("GLIBC_") is None  # musl has no symbol versions
    assert not [s for s in info.exported() if not s.startswith("_rjem_")]
    target = cross.get("musllinux-x86_64")
    program = _compile(target, result, tmp_path)
    interp = _elf_interpreter(program)
    assert "ld-musl" in interp, interp
    _assert_ok(_run(target, program), page=4096)


def _elf_interpreter(path: Path) -> str:
    data = path.read_bytes()
    start = data.find(b"/lib/ld-")
    return data[start:data.find(b"\0", start)].decode() if start >= 0 else ""


PE_RUNTIME_EXPORTS = {"_CRT_INIT", "__mingw_module_is_dll", "atexit", "tls_callback"}
"""Exported by every mingw-w64 DLL start-up (the first three) and jemalloc's TLS callback pointer
(src/tsd.c). Not allocator entry points, and a DLL's exports never interpose on Windows."""

SYSTEM_DLLS = ("kernel32.dll", "msvcrt.dll", "ucrtbase.dll", "api-ms-win-crt-", "ntdll.dll")


@more_targets
@pytest.mark.build
@pytest.mark.parametrize("name", ["windows-amd64", "windows-amd64-mingw"])
def test_windows_dll_imports_only_system_dlls_and_allocates_under_wine(
        cross_build: CrossBuild, tmp_path: Path, name: str) -> None:
    lief = pytest.importorskip("lief", reason="lief reads PE and Mach-O files (pip install lief)")
    result = cross_build(name)
    assert result.library.name == "jemalloc_sys.dll"
    assert (result.root / "lib" / "jemalloc_sys.lib").is_file()
    pe = lief.PE.parse(str(result.library))
    imports = [imp.name.lower() for imp in pe.imports]
    assert imports and all(i.startswith(SYSTEM_DLLS) for i in imports), imports
    exports = [e.name for e in pe.get_export().entries]
    assert "_rjem_malloc" in exports
    stray = [e for e in exports if not e.startswith("_rjem_") and e not in PE_RUNTIME_EXPORTS]
    assert not stray, stray
    target = cross.get(name)
    _assert_ok(_run(target, _compile(target, result, tmp_path)), page=4096)


MACHO_LINKER_SYMBOLS = {"__mh_dylib_header", "___dso_handle"}
"""Symbols the linker itself defines in every dylib, not jemalloc's."""


@more_targets
@pytest.mark.build
@pytest.mark.parametrize("name", ["macos-x86_64", "macos-arm64"])
def test_macos_dylib_install_name_minimum_os_and_exports(cross_build: CrossBuild, name: str) -> None:
    lief = pytest.importorskip("lief", reason="lief reads PE and Mach-O files (pip install lief)")
    target = cross.get(name)
    result = cross_build(name)
    assert result.library.name == "libjemalloc_sys.2.dylib"
    macho = lief.MachO.parse(str(result.library)).at(0)
    cpu = {"macos-x86_64": lief.MachO.Header.CPU_TYPE.X86_64, "macos-arm64": lief.MachO.Header.CPU_TYPE.ARM64}
    assert macho.header.cpu_type == cpu[name]
    assert macho.get(lief.MachO.LoadCommand.TYPE.ID_DYLIB).name == "@rpath/libjemalloc_sys.2.dylib"
    minos = _minimum_os(lief, macho)
    assert minos == [int(p) for p in target.deployment_target.split(".")] + [0]
    load_dylib = lief.MachO.LoadCommand.TYPE.LOAD_DYLIB
    assert [lib.name for lib in macho.libraries if lib.command == load_dylib] == ["/usr/lib/libSystem.B.dylib"]
    exported = [s.name for s in macho.exported_symbols]
    assert "__rjem_malloc" in exported
    stray = [s for s in exported if not s.startswith("__rjem_") and s not in MACHO_LINKER_SYMBOLS]
    assert not stray, stray[:20]
    if name == "macos-arm64":
        # Apple silicon refuses unsigned code: the link-time ad-hoc signature must be there
        # (the install name was set at link time, so nothing rewrote the file afterwards).
        assert macho.has_code_signature
    # the in-process library must not register itself as the default malloc zone
    assert "--disable-zone-allocator" in result.record["configure_args"]


def _minimum_os(lief: object, macho: object) -> list[int]:
    build_version = getattr(macho, "build_version", None)
    if build_version is not None:
        return list(build_version.minos)
    return list(macho.version_min.version)  # type: ignore[attr-defined]


@more_targets
@pytest.mark.build
def test_s390x_big_endian_library_runs_under_qemu(cross_build: CrossBuild, tmp_path: Path) -> None:
    result = cross_build("manylinux-s390x")
    info = _elf.read(result.library)
    assert info.machine == 22 and not info.little_endian  # EM_S390, big-endian
    assert _newest_glibc(info) <= (2, 17), info.version_needs
    target = cross.get("manylinux-s390x")
    _assert_ok(_run(target, _compile(target, result, tmp_path)), page=65536)


MORE_ARCHES = {"manylinux-i686": 3, "manylinux-armv7l": 40, "manylinux-ppc64le": 21}
"""Further Linux targets the crate supports -> their ELF machine (EM_386, EM_ARM, EM_PPC64)."""


@more_targets
@pytest.mark.build
@pytest.mark.parametrize("name", sorted(MORE_ARCHES))
def test_more_linux_arches_build_and_run(cross_build: CrossBuild, tmp_path: Path, name: str) -> None:
    result = cross_build(name)
    info = _elf.read(result.library)
    assert info.machine == MORE_ARCHES[name] and info.little_endian
    target = cross.get(name)
    policy = tuple(int(p) for p in target.wheel_tag.split("_")[1:3])  # manylinux_2_19_ppc64le -> (2, 19)
    assert _newest_glibc(info) <= policy, info.version_needs
    lg_page = result.record["lg_page"]
    assert lg_page == platforms.portable_defaults(platforms.parse_triple(target.triple)).lg_page
    _assert_ok(_run(target, _compile(target, result, tmp_path)), page=1 << lg_page)


@pytest.mark.build
@pytest.mark.slow
@pytest.mark.parametrize("name", ["manylinux-aarch64", "musllinux-x86_64"])
def test_the_profiling_wheel_passes_the_functional_checks_on_the_target(name: str, tmp_path: Path) -> None:
    """Issue 10: profiling, stats, background threads and fork, used on the shipped library, emulated or native."""
    target = cross.get(name)
    if cross.runner(target) is None:
        pytest.skip(f"nothing here runs {name}: {cross.missing_runtime(target)}")
    env = {**base_env()}
    env.pop("SOURCE_DATE_EPOCH", None)
    proc = subprocess.run([sys.executable, "-m", "wheel_builder", "--target", name, "--variants", "profiling",
                           "--out", str(tmp_path / "wh"), "--cache-dir", str(CACHE_DIR), "--no-install-check"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    (wheel,) = json.loads((tmp_path / "wh" / "build-report.json").read_text())["wheels"]
    checks = {c["name"]: c for c in wheel["checks"]}
    for check in ("prof", "stats", "background thread", "fork"):
        for flavour in ("inprocess", "preload"):
            found = checks.get(f"{check} ({flavour})")
            assert found is not None and found["ok"], f"{check} ({flavour}) missing or failed:\n{proc.stdout}"
    assert "probe_site 16.0 MB of 16.0 MB" in checks["prof (preload)"]["detail"]
