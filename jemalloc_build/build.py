"""Configure and make jemalloc once per configuration, and reuse the result.

A finished build is a cache entry keyed by everything that changes the output
(source sha256, configure arguments, compiler and its version, target, the
environment's compiler flags, this builder's version). Entries appear atomically
(:mod:`cache`), so a build interrupted half-way is simply absent next time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import BUILDER_VERSION, cache, configure, cross, mallctl_types, malloc_conf, manifest, source, toolchain
from .errors import ConfigureError, MakeError, SourceError
from .platforms import import_library_name, make_variables, shared_library_name
from .settings import BuildSettings

log = logging.getLogger(__name__)

Reporter = Callable[[str], None]

FLAG_ENV = ("CFLAGS", "CPPFLAGS", "LDFLAGS", "EXTRA_CFLAGS", "EXTRA_LDFLAGS", "AR", "NM", "RANLIB",
            "STRIP", "MACOSX_DEPLOYMENT_TARGET")
"""Environment that reaches the compiler and so belongs in the cache key."""

RECORD = "build-record.json"


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    root: Path
    """The cache entry: ``lib/``, ``include/jemalloc/jemalloc.h``, ``COPYING``, the record."""
    library: Path
    record: dict[str, Any]
    reused: bool
    seconds: float


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _jobs(settings: BuildSettings) -> list[str]:
    """-jN unless a parent make shares its jobserver with us (oversubscription was crate #92/#120)."""
    makeflags = os.environ.get("MAKEFLAGS", "")
    if settings.num_jobs is None and ("--jobserver-auth" in makeflags or "--jobserver-fds" in makeflags):
        return []
    return [f"-j{settings.num_jobs or os.cpu_count() or 1}"]


def _tail(path: Path, lines: int) -> str:
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    keep = text if os.environ.get("CI") else text[-lines:]
    return "\n".join(keep)


def _config_log_excerpt(path: Path, lines: int = 50) -> str:
    """The end of config.log's test transcript: the failing check and the compiler's complaint.

    config.log ends with a dump of cache variables and confdefs.h that says nothing
    about the failure, so the tail is taken from before that dump.
    """
    if not path.is_file():
        return "(no config.log)"
    text = path.read_text(encoding="utf-8", errors="replace")
    if os.environ.get("CI"):
        return text
    transcript = text.split("## ---------------- ##\n## Cache variables. ##", 1)[0]
    return "\n".join(transcript.rstrip().splitlines()[-lines:])


def _cache_key(plan: configure.ConfigurePlan, tc: toolchain.Toolchain, src: source.Source,
               *, upstream_tests: bool = False) -> str:
    material: dict[str, object] = {
        "builder": BUILDER_VERSION,
        "source": src.sha256 or f"tree:{src.tree}",
        "args": plan.args,
        "cc": tc.cc,
        "cc_version": tc.version,
        "target": plan.target,
        "env": {k: os.environ.get(k, "") for k in FLAG_ENV},
    }
    make_vars = make_variables(tc.host)
    if make_vars:  # only when present, so the keys of existing entries stay valid
        material["make"] = make_vars
    if upstream_tests:
        # An entry made without `make check` must not satisfy a request to run it.
        material["upstream_tests"] = True
    blob = json.dumps(material, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _extra_cflags(plan: configure.ConfigurePlan, objdir: Path, tree: Path, version: str) -> str:
    # Path maps make the output independent of where it was built (reproducible,
    # and no build folder leaks into the wheel); -g0 drops 4-6 MB of debug info
    # that only the debug variant wants.
    flags = [f"-ffile-prefix-map={objdir}=.", f"-ffile-prefix-map={tree}=jemalloc-{version}"]
    if "debug" not in plan.features:
        flags.append("-g0")
    existing = os.environ.get("EXTRA_CFLAGS", "")
    return " ".join([existing, *flags]).strip()


def _extra_ldflags() -> list[str]:
    """EXTRA_LDFLAGS from the environment as a make variable.

    jemalloc's configure resets EXTRA_LDFLAGS, so the variable (in FLAG_ENV and the
    cache key) would otherwise never reach the library link; cross targets use it for
    flags that only make sense there, e.g. ``-Wl,--out-implib`` (jemalloc_build.cross).
    """
    value = os.environ.get("EXTRA_LDFLAGS", "")
    return [f"EXTRA_LDFLAGS={value}"] if value else []


def _run_logged(cmd: list[str], *, cwd: Path, env: dict[str, str], log_path: Path,
                on_line: Callable[[str], None] | None = None) -> int:
    with log_path.open("w", encoding="utf-8") as fh:
        fh.write("$ " + shlex.join(cmd) + "\n")
        fh.flush()
        with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    fh.write(line)
                    if on_line is not None:
                        on_line(line.rstrip("\n"))
            except BaseException:
                # Ctrl-C or a crash in our code: stop make now rather than leave it writing.
                proc.kill()
                raise
            return proc.wait()


_UNIT = re.compile(r"\s-c\s.*?(\S+/src/\S+\.c)\b|\s-c\s(?:.*\s)?(\S+\.c)\s*$")


def _progress(report: Reporter, total: int) -> Callable[[str], None]:
    seen = 0

    def on_line(line: str) -> None:
        nonlocal seen
        match = _UNIT.search(line)
        if match and " -c " in line:
            seen += 1
            unit = Path(match.group(1) or match.group(2)).name
            report(f"  [{seen:3d}/{total}] {unit}")
        elif "error" in line.lower() and ":" in line:
            report("  " + line)

    return on_line


def _read_defines(header: Path) -> dict[str, str]:
    defines = {}
    for line in header.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"#\s*define\s+(\w+)\s+(.*)$", line)
        if m:
            defines[m.group(1)] = m.group(2).strip()
    return defines


def _check_version(objdir: Path, plan: configure.ConfigurePlan, mf: manifest.Manifest) -> str:
    header = objdir / "include" / "jemalloc" / f"jemalloc{plan.install_suffix}.h"
    if not header.is_file():
        raise ConfigureError(f"configure produced no {header.name}; see {objdir / 'config.log'}")
    version = _read_defines(header).get("JEMALLOC_VERSION", "").strip('"')
    if not version.startswith(mf.version + "-"):
        raise SourceError(
            f"jemalloc reports version {version!r} instead of {mf.version}-...;"
            " the source lost its version (a git export without VERSION): use the pinned tarball"
        )
    return version


def settings_for(config_settings: dict[str, Any] | None = None) -> BuildSettings:
    """Resolve settings, including the crate's ``<TARGET>_JEMALLOC_SYS_*`` per-target variables.

    Two passes: the target triple itself is a setting, and it decides which
    per-target names to look at.
    """
    from . import settings as settings_mod

    first = settings_mod.resolve(config_settings=config_settings)
    tc = toolchain.detect(target=first.target)
    return settings_mod.resolve(config_settings=config_settings, target_prefix=tc.host.env_prefix)


def flavour_supported(flavour: str, settings: BuildSettings) -> bool:
    oses = configure.FLAVOURS[flavour].oses
    return oses is None or toolchain.detect(target=settings.target).host.os in oses


def build_jemalloc(
    settings: BuildSettings,
    *,
    flavour: str = "inprocess",
    report: Reporter = _stderr,
) -> BuildResult:
    """Build (or reuse) the jemalloc shared library for ``settings`` and ``flavour``."""
    started = time.monotonic()
    mf = manifest.load()
    cache_dir = cache.cache_root(settings.cache_dir)
    tc = toolchain.detect(target=settings.target)
    # Every check that needs no source runs before we fetch or extract anything.
    configure.plan(settings, target=tc.host, cross=tc.cross, manifest=mf, known_options=None, flavour=flavour)
    src = source.prepare(explicit=settings.source, manifest=mf, cache_dir=cache_dir)
    plan = configure.plan(
        settings, target=tc.host, cross=tc.cross, manifest=mf,
        known_options=malloc_conf.known_options(src.tree), flavour=flavour,
    )
    key = _cache_key(plan, tc, src, upstream_tests=settings.run_jemalloc_tests)
    entry = cache_dir / "builds" / f"{flavour}-{key}"
    record_path = entry / RECORD
    if record_path.is_file():
        if not (entry / mallctl_types.FILE_NAME).is_file():
            mallctl_types.write(src.tree, entry)  # an entry cached before the table existed
        cached: dict[str, Any] = json.loads(record_path.read_text(encoding="utf-8"))
        report(f"jemalloc {cached['jemalloc_version']} ({flavour}): reusing build {entry}")
        return BuildResult(root=entry, library=entry / "lib" / cached["library"], record=cached,
                           reused=True, seconds=time.monotonic() - started)

    lib_name = shared_library_name(tc.host, f"jemalloc{plan.install_suffix}")
    with cache.staged_entry(entry) as scratch:
        objdir = scratch / "obj"
        objdir.mkdir()
        env = dict(os.environ)
        env["CC"] = shlex.join(tc.cc)
        env.update(cross.build_env(tc.cc, objdir))
        env["EXTRA_CFLAGS"] = _extra_cflags(plan, objdir, src.tree, mf.version)
        cmd = ["sh", str(src.tree / "configure"), "--prefix=/usr/local", *plan.args]
        report(f"jemalloc {mf.version} ({flavour}): configuring in {objdir}")
        report("  $ " + shlex.join(cmd))
        status = _run_logged(cmd, cwd=objdir, env=env, log_path=scratch / "configure.log")
        if status != 0:
            raise ConfigureError(
                f"jemalloc configure failed (exit {status}); the command and the end of config.log follow",
                detail=f"$ {shlex.join(cmd)}\n  (in {objdir}, CC={env['CC']})\n"
                + _tail(scratch / "configure.log", 3) + "\n--- config.log ---\n"
                + _config_log_excerpt(objdir / "config.log"),
            )
        version = _check_version(objdir, plan, mf)
        defs = _read_defines(objdir / "include" / "jemalloc" / "internal" / "jemalloc_internal_defs.h")

        make_cmd = [tc.make, *_jobs(settings), *make_variables(tc.host), *_extra_ldflags(), "build_lib_shared"]
        # Each source is compiled twice: once to list its symbols (private namespace), once for the library.
        units = 2 * sum(1 for _ in (src.tree / "src").glob("*.c"))
        report(f"jemalloc {mf.version} ({flavour}): $ {shlex.join(make_cmd)}")
        status = _run_logged(make_cmd, cwd=objdir, env=env, log_path=scratch / "make.log",
                             on_line=_progress(report, units))
        if status != 0:
            raise MakeError(
                f"jemalloc make failed (exit {status}); the end of its output follows",
                detail=f"$ {shlex.join(make_cmd)}\n  (in {objdir})\n--- make output ---\n"
                + _tail(scratch / "make.log", 40),
            )

        if settings.run_jemalloc_tests:
            _run_upstream_tests(tc.make, settings, objdir, env, scratch, report)

        (scratch / "lib").mkdir()
        shutil.copy2(objdir / "lib" / lib_name, scratch / "lib" / lib_name)
        import_lib = import_library_name(tc.host, f"jemalloc{plan.install_suffix}")
        if import_lib is not None:
            if not (objdir / "lib" / import_lib).is_file():
                raise MakeError(f"the link produced no import library {import_lib} next to {lib_name};"
                                " use zig, or mingw-w64 with -Wl,--out-implib (jemalloc_build.cross)")
            shutil.copy2(objdir / "lib" / import_lib, scratch / "lib" / import_lib)
        (scratch / "include" / "jemalloc").mkdir(parents=True)
        shutil.copy2(objdir / "include" / "jemalloc" / f"jemalloc{plan.install_suffix}.h",
                     scratch / "include" / "jemalloc" / "jemalloc.h")
        shutil.copy2(src.tree / mf.license_file, scratch / "COPYING")
        if "profiling" in plan.features and (objdir / "bin" / "jeprof").is_file():
            (scratch / "bin").mkdir()
            shutil.copy2(objdir / "bin" / "jeprof", scratch / "bin" / "jeprof")

        record: dict[str, Any] = {
            "jemalloc_version": version,
            "flavour": flavour,
            "features": sorted(plan.features),
            "configure_args": list(plan.args),
            "malloc_conf": plan.malloc_conf,
            "lg_page": _int_or_none(defs.get("LG_PAGE")),
            "lg_hugepage": _int_or_none(defs.get("LG_HUGEPAGE")),
            "lg_quantum": _int_or_none(defs.get("LG_QUANTUM")),
            "lg_vaddr": _int_or_none(defs.get("LG_VADDR")),
            "symbol_prefix": plan.symbol_prefix,
            "tls_model": plan.tls_model,
            "library": lib_name,
            "import_library": import_lib,
            "compiler": {"cc": list(tc.cc), "version": tc.version},
            "target": plan.target,
            "source": {"sha256": src.sha256, "origin": src.origin if src.sha256 is None else "verified tarball",
                       "commit": mf.commit},
            "cache_key": key,
            "override": None,
        }
        (scratch / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        mallctl_types.write(src.tree, scratch)
        shutil.rmtree(objdir)
    seconds = time.monotonic() - started
    report(f"jemalloc {version} ({flavour}): built {lib_name} in {seconds:.0f}s")
    return BuildResult(root=entry, library=entry / "lib" / lib_name, record=record, reused=False, seconds=seconds)


UPSTREAM_TEST_TARGETS = ("tests", "check")
"""As the crate does: build every test program (unit, integration, analyze, stress), then run ``check``.

Works with our ``--disable-static`` configuration: unit and stress tests link
jemalloc's own ``.jet`` objects, integration and stress tests link the shared
library we ship (verified for 5.3.1).
"""


def _run_upstream_tests(make: str, settings: BuildSettings, objdir: Path, env: dict[str, str],
                        scratch: Path, report: Reporter) -> None:
    """jemalloc's own test suite (``make tests`` + ``make check``) against this exact configuration."""
    for target in UPSTREAM_TEST_TARGETS:
        cmd = [make, *_jobs(settings), target]
        report(f"jemalloc: running upstream tests: $ {shlex.join(cmd)}")
        log_path = scratch / f"{target}.log"
        status = _run_logged(cmd, cwd=objdir, env=env, log_path=log_path)
        # Every suite's summary, from the whole log: with -jN the suites run side by side.
        text = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in text:
            if "Test suite summary" in line:
                report("  " + line.strip())
        if status != 0:
            raise MakeError(f"jemalloc's own test suite failed at `make {target}` (exit {status});"
                            " the end of its output follows",
                            detail=f"$ {shlex.join(cmd)}\n  (in {objdir})\n" + _tail(log_path, 60))


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
