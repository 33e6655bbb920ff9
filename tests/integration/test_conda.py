"""The conda recipe (``recipe/``): renders everywhere, builds and tests offline, installs the way users would.

Everything runs without network: rattler-build and py-rattler run in a child
process inside a fresh network namespace (``unshare -n``: only ``lo``), and
every requirement comes from a ``file://`` channel of stand-ins for this
machine's own tools (``tests/conda/channel.py``). The source is the base sdist
``python -m wheel_builder sdists`` makes (the ``sdists`` fixture), through a
``file://`` URL and its sha256, as conda-forge would take the published one from
PyPI. One real linux-64 build of two variants (``base`` and ``profiling``) serves
every test below; the builder cache is shared with the rest of the suite, so both
libraries are usually reused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import CACHE_DIR, ROOT, needs_tarball, program, recipe_yaml, run_jemalloc_build

from jemalloc_build import project, variants

rattler_build = pytest.importorskip("rattler_build", reason="py-rattler-build is in ci/requirements-test.txt")
rattler = pytest.importorskip("rattler", reason="py-rattler is in ci/requirements-test.txt")
yaml = pytest.importorskip("yaml", reason="pyyaml is in ci/requirements-test.txt")


RECIPE_DIR = ROOT / "recipe"
DRIVER = ROOT / "tests" / "conda" / "offline.py"
PLATFORMS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64")
BUILT_VARIANTS = ("base", "profiling")


VERSION = project.version()
"""jemalloc-sys's version: every conda output carries it."""
JEMALLOC_RELEASE = VERSION.rsplit(".", 1)[0]
COMPILER = {"linux-64": "gcc_linux-64", "linux-aarch64": "gcc_linux-aarch64", "osx-64": "clang_osx-64",
            "osx-arm64": "clang_osx-arm64", "win-64": "gcc_win-64"}


def _offline_prefix() -> list[str]:
    """``unshare -n`` when this process may create a network namespace (root, or user namespaces)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    for cmd in ([unshare, "-n"], [unshare, "-rn"]):
        if subprocess.run([*cmd, "true"], capture_output=True).returncode == 0:
            return cmd
    return []


OFFLINE = _offline_prefix()


def run_driver(tmp: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = tmp / "driver.json"
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([*OFFLINE, sys.executable, str(DRIVER), args[0], str(out), *args[1:]], env=full_env,
                          capture_output=True, text=True, timeout=3000)
    if proc.returncode != 0:
        raise AssertionError(f"offline driver failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return doc


# --------------------------------------------------------------------------- render




RENDER_SOURCE = {"JEMALLOC_SYS_SDIST_URL": "file:///nowhere/jemalloc_sys-render.tar.gz",
                 "JEMALLOC_SYS_SDIST_SHA256": hashlib.sha256(b"render only: nothing is fetched").hexdigest()}
"""A source for rendering: rendering fetches nothing, so any URL and digest show the recipe's wiring."""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_driver(tmp_path_factory.mktemp("render"), "render", *PLATFORMS, env={**os.environ, **RENDER_SOURCE})


def test_the_recipe_does_not_render_without_the_sdists_checksum(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JEMALLOC_SYS_SDIST_")}
    with pytest.raises(AssertionError, match="Environment variable JEMALLOC_SYS_SDIST_SHA256 not found"):
        run_driver(tmp_path, "render", "linux-64", env=env)


def test_render_ran_without_network(rendered: dict[str, Any]) -> None:
    if not OFFLINE:
        pytest.skip("cannot create a network namespace here (unshare -n); the render ran with the host network")
    assert rendered["interfaces"] == ["lo"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_recipe_renders(rendered: dict[str, Any], platform: str) -> None:
    rows = rendered["result"][platform]
    assert {r["name"] for r in rows} == {"libjemalloc-sys", "jemalloc-sys"}  # no variant mutex package
    libs = {r["variant"]["jemalloc_variant"]: r for r in rows if r["name"] == "libjemalloc-sys"}
    assert sorted(libs) == sorted(recipe_yaml("variants.yaml")["jemalloc_variant"])
    for name, row in libs.items():
        assert row["build_string"].startswith(f"{name}_h"), row["build_string"]
        assert row["recipe"]["source"] == [{"url": RENDER_SOURCE["JEMALLOC_SYS_SDIST_URL"],
                                            "sha256": RENDER_SOURCE["JEMALLOC_SYS_SDIST_SHA256"]}]
        requirements = row["recipe"]["requirements"]
        assert requirements["build"][0] == COMPILER[platform]
        assert "autoconf" not in json.dumps(requirements["build"])  # the sdist carries configure
        # jeprof is a Perl script, shipped by the variants with profiling (jemalloc_build/variants.py).
        assert (requirements.get("run") or []) == (["perl"] if "profiling" in variants.get(name).features else [])
        assert requirements["run_exports"], "downstream recipes need the run_exports pin"
        env = row["recipe"]["build"]["script"]["env"]
        assert env["JEMALLOC_VARIANT"] == name
    pythons = [r for r in rows if r["name"] == "jemalloc-sys"]
    assert len({json.dumps(r["recipe"]["requirements"], sort_keys=True) for r in pythons}) == 1, \
        "the Python package must not depend on the variant"
    python = pythons[0]
    assert python["noarch"].lower().startswith("python")
    python_min = recipe_yaml("variants.yaml")["python_min"][0]
    assert f"python {python_min}.*" in python["recipe"]["requirements"]["host"]
    assert f"python >={python_min}" in python["recipe"]["requirements"]["run"]
    imports = next(t["python"] for t in python["recipe"]["tests"] if "python" in t)
    assert imports["python_version"] == f"{python_min}.*"
    assert imports.get("pip_check", True) is True  # rattler-build leaves out its default, true


# --------------------------------------------------------------------------- the real build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sdists: dict[str, Path]) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("conda-build")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEMALLOC_SYS_", "JEMALLOC_OVERRIDE"))}
    env["JEMALLOC_SYS_SDIST_URL"] = sdists["base"].resolve().as_uri()
    env["JEMALLOC_SYS_SDIST_SHA256"] = hashlib.sha256(sdists["base"].read_bytes()).hexdigest()
    env["JEMALLOC_SYS_CACHE_DIR"] = str(CACHE_DIR)
    doc = run_driver(work, "build", str(work), *BUILT_VARIANTS, env=env)
    doc["work"] = work
    return doc


def _artifact(built: dict[str, Any], name: str, build_prefix: str = "") -> Path:
    found = [Path(p) for p in built["result"]["packages"]
             if Path(p).name.startswith(f"{name}-{VERSION}-{build_prefix}")]
    assert len(found) == 1, (name, build_prefix, built["result"]["packages"])
    return found[0]


@pytest.mark.build
def test_build_ran_without_network(built: dict[str, Any]) -> None:
    if not OFFLINE:
        pytest.skip("cannot create a network namespace here (unshare -n); the build used file:// channels only")
    assert built["interfaces"] == ["lo"]


@pytest.mark.build
def test_artifacts_are_real_conda_packages(built: dict[str, Any]) -> None:
    names = sorted(Path(p).name for p in built["result"]["packages"])
    expected = {f"jemalloc-sys-{VERSION}-py"} | {f"libjemalloc-sys-{VERSION}-{v}_h" for v in BUILT_VARIANTS}
    assert len(names) == len(expected)
    for stem in expected:
        assert sum(n.startswith(stem) for n in names) == 1, (stem, names)
    for path in map(Path, built["result"]["packages"]):
        assert path.suffix == ".conda"
        with zipfile.ZipFile(path) as archive:  # .conda: a zip of metadata.json and two zstd tarballs
            members = archive.namelist()
        assert "metadata.json" in members
        assert any(m.startswith("pkg-") and m.endswith(".tar.zst") for m in members)
        assert any(m.startswith("info-") and m.endswith(".tar.zst") for m in members)


@pytest.mark.build
@pytest.mark.parametrize("variant", BUILT_VARIANTS)
def test_library_package_contents(built: dict[str, Any], variant: str) -> None:
    package = rattler_build.Package.from_file(_artifact(built, "libjemalloc-sys", variant))
    files = set(package.files)
    for required in ("lib/libjemalloc_sys.so.2", "lib/libjemalloc_sys.so", "lib/pkgconfig/jemalloc-sys.pc",
                     "include/jemalloc_sys/jemalloc/jemalloc.h", "share/jemalloc-sys/build-record.json"):
        assert required in files, (required, sorted(files))
    assert not [f for f in files if f.endswith(".a")], "no static library"
    jeprof = "profiling" in variants.get(variant).features
    assert ("bin/jeprof" in files) == jeprof and ("bin/jeprof-inprocess" in files) == jeprof
    assert package.depends == (["perl"] if jeprof else [])  # jeprof is a Perl script
    assert package.build_string.startswith(f"{variant}_h")
    # A recipe with libjemalloc-sys in host: gets a runtime pin on the version, whatever the variant.
    from rattler.package import RunExportsJson

    run_exports = RunExportsJson.from_package_archive(_artifact(built, "libjemalloc-sys", variant))
    major, minor, patch = (int(part) for part in VERSION.split(".")[:3])
    assert run_exports.weak == [f"libjemalloc-sys >={VERSION},<{major}.{minor}.{patch + 1}.0a0"]


@pytest.mark.build
def test_python_package_carries_no_library(built: dict[str, Any]) -> None:
    package = rattler_build.Package.from_file(_artifact(built, "jemalloc-sys", "py"))
    assert package.noarch == "python"
    assert "site-packages/jemalloc_sys/__init__.py" in package.files
    native = [f for f in package.files if f.endswith((".so", ".so.2", ".dll", ".dylib", "_build_record.json"))]
    assert native == []
    assert any(d.startswith(f"libjemalloc-sys >={VERSION}") for d in package.depends), package.depends


@pytest.mark.build
def test_recipe_tests_pass_on_the_artifacts(built: dict[str, Any]) -> None:
    """rattler-build ran the recipe's tests during the build; the driver ran them again from the files."""
    tests = built["result"]["tests"]
    outputs = {Path(path).name: results for path, results in tests.items()}
    for name, results in outputs.items():
        assert all(r["success"] for r in results), (name, [r["output"][-2000:] for r in results])
    for variant in BUILT_VARIANTS:
        lib = outputs[_artifact(built, "libjemalloc-sys", variant).name]
        text = "\n".join(r["output"] for r in lib)
        assert "libjemalloc-sys: OK" in text
        assert f"config.prof={int(variant == 'profiling')}" in text
        assert f"allocated through jemalloc {JEMALLOC_RELEASE}-" in text
    py = "\n".join(r["output"] for r in outputs[_artifact(built, "jemalloc-sys", "py").name])
    assert "python imports test passed" in py
    assert "No broken requirements found" in py  # pip check, in an environment that sees only itself
    assert re.search(rf"jemalloc_sys {re.escape(VERSION)}: variant base, .* library \S+/lib/libjemalloc_sys\.so\.2", py), py


# --------------------------------------------------------------------------- installed like a user would


def _install(built: dict[str, Any], prefix: Path, specs: list[str]) -> list[str]:
    """Solve ``specs`` against the build output and the stand-in channel, and install them into ``prefix``."""
    channels = [Path(built["result"]["output"]).as_uri(), Path(built["result"]["channel"]).as_uri()]

    async def go() -> list[str]:
        # Lenient parsing, as conda's command line reads `name=version=build`.
        match_specs = [rattler.MatchSpec(spec, strict=False) for spec in specs]
        records = await rattler.solve(channels, match_specs, platforms=["linux-64", "noarch"],
                                      virtual_packages=rattler.VirtualPackage.detect())
        await rattler.install(records, target_prefix=prefix, cache_dir=prefix.parent / "pkgs", show_progress=False)
        return sorted(f"{r.name.normalized}={r.build}" for r in records)

    return asyncio.run(go())


def _build_id(path: Path) -> str:
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf (binutils, in ci/apt-packages.txt) is needed to compare build ids")
    out = subprocess.run([readelf, "-n", str(path)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert match is not None, f"{path} has no GNU build-id note"
    return match.group(1)


@pytest.mark.build
@pytest.mark.parametrize(("specs", "variant"), [
    (["jemalloc-sys"], "base"),
    (["jemalloc-sys", "libjemalloc-sys=*=profiling*"], "profiling"),
])
def test_installed_prefix(built: dict[str, Any], tmp_path: Path, specs: list[str], variant: str) -> None:
    """The README's install lines, into a fresh prefix: the variant asked for, and nothing else, is what runs."""
    prefix = tmp_path / "env"
    installed = _install(built, prefix, specs)
    assert f"libjemalloc-sys={variant}_h" in " ".join(installed), installed
    assert any(r.startswith("perl=") for r in installed) is (variant == "profiling"), installed
    assert (prefix / "bin" / "jeprof").is_file() is (variant == "profiling")
    # From an empty folder, without PYTHONPATH: nothing of this checkout may be imported.
    proc = subprocess.run([str(prefix / "bin" / "python"), str(program("prefix_facts.py"))], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    assert facts["variant"] == variant
    assert facts["config.prof"] is (variant == "profiling")
    assert facts["config.prof"] is ("profiling" in facts["features"])
    assert Path(facts["library"]) == prefix / "lib" / "libjemalloc_sys.so.2"
    assert Path(facts["include"]) == prefix / "include" / "jemalloc_sys"
    assert Path(facts["pkgconfig"]) == prefix / "lib" / "pkgconfig"
    assert Path(facts["package"]).is_relative_to(prefix / "lib")
    # The very library the builder made for the wheels (the same cache entry): same link output
    # (GNU build-id); rattler-build's relocation step only adds an RPATH of $ORIGIN/.
    entry = CACHE_DIR / "builds" / f"inprocess-{facts['cache_key']}" / "lib" / "libjemalloc_sys.so.2"
    assert entry.is_file(), entry
    installed_lib = Path(facts["library"])
    assert _build_id(installed_lib) == _build_id(entry)
    assert facts["sha256"] == hashlib.sha256(installed_lib.read_bytes()).hexdigest()
    # The noarch package's console script, made by the installer; it finds the preload library in the prefix.
    script = subprocess.run([str(prefix / "bin" / "jemalloc-sys"), "preload-path"], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert script.returncode == 0, script.stderr
    assert Path(script.stdout.strip()) == prefix / "lib" / "libjemalloc_sys_preload.so.2"


# --------------------------------------------------------------------------- the builder's install command


@pytest.mark.build
@needs_tarball
def test_install_into_a_prefix(tmp_path: Path, clean_env: dict[str, str]) -> None:
    """What the recipe's build.sh runs, outside conda: a usual prefix layout, found by pkg-config."""
    prefix = tmp_path / "usr"
    proc = run_jemalloc_build("install", "--prefix", str(prefix), "--variant", "base", env=clean_env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = {Path(line).relative_to(prefix).as_posix() for line in proc.stdout.split()}
    assert {"lib/libjemalloc_sys.so.2", "lib/libjemalloc_sys.so", "lib/pkgconfig/jemalloc-sys.pc",
            "include/jemalloc_sys/jemalloc/jemalloc.h", "share/jemalloc-sys/build-record.json",
            "share/jemalloc-sys/COPYING.jemalloc"} <= listed
    assert os.readlink(prefix / "lib" / "libjemalloc_sys.so") == "libjemalloc_sys.so.2"
    record = json.loads((prefix / "share" / "jemalloc-sys" / "build-record.json").read_text())
    assert record["variant"] == "base"
    for key, folder in (("lib", "lib"), ("include", "include/jemalloc_sys"), ("bin", "bin")):
        assert (prefix / "share" / "jemalloc-sys" / record["layout"][key]).resolve() == (prefix / folder).resolve()
    pc_text = (prefix / "lib" / "pkgconfig" / "jemalloc-sys.pc").read_text()
    assert str(tmp_path) not in pc_text, "the .pc file must be relocatable"
    pkg_config = shutil.which("pkg-config")
    if pkg_config is None:
        pytest.skip("pkg-config (pkgconf, in ci/apt-packages.txt) is needed to read the .pc file")
    flags = subprocess.run([pkg_config, "--cflags", "--libs", "jemalloc-sys"], capture_output=True, text=True,
                           check=True, env={**clean_env, "PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")}).stdout
    assert f"-I{prefix}/lib/pkgconfig/../../include/jemalloc_sys" in flags
    assert "-ljemalloc_sys" in flags
