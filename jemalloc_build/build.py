"""Configure and make jemalloc once per configuration, and reuse the result.

A finished build is a cache entry keyed by everything that changes the output
(source and configure script, configure arguments, what the compiler is and its
version, target, the environment's compiler flags, this builder's version).
Entries appear atomically (:mod:`cache`), so a build interrupted half-way is
simply absent next time.

The build environment (``CC``, ``CFLAGS``, ``PATH``, ``MAKEFLAGS``...) is passed in
as a mapping, never read from this process's ``os.environ``: the entry points read
their environment once and hand it down, so a test, a benchmark or the conda recipe
can build exactly what the wheels ship by passing the same mapping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jemalloc_sys import _names

from . import (
    BUILDER_VERSION,
    cache,
    configure,
    configure_cache,
    cross,
    extra_objects,
    mallctl_types,
    malloc_conf,
    manifest,
    source,
    toolchain,
    upstream_tests,
)
from . import settings as settings_mod
from .errors import ConfigureError, MakeError, SourceError
from .logs import Reporter, config_log_excerpt, jobserver_usable, make_progress, run_logged, tail
from .platforms import (
    BACKTRACE_DEFINES,
    import_library_name,
    make_variables,
    shared_library_name,
    symbol_pass_makefile,
)
from .settings import BuildSettings

log = logging.getLogger(__name__)

FLAG_ENV = ("CFLAGS", "CPPFLAGS", "LDFLAGS", "EXTRA_CFLAGS", "EXTRA_LDFLAGS", "MACOSX_DEPLOYMENT_TARGET")
"""Environment that reaches the compiler and so belongs in the cache key."""

TOOL_ENV = ("AR", "NM", "RANLIB", "STRIP")
"""Programs configure and make run besides the compiler: in the key by what they are, not how they are spelled."""

SYMBOL_PASS_MAKEFILE = "jemalloc-sys-symbol-pass.mk"
"""The wrapper makefile :func:`_make_command` writes into the object folder."""

RECORD = _names.PREFIX_RECORD_NAME
"""The record of a cache entry: the format a prefix install keeps (the package's copy is ``_names.RECORD_NAME``)."""


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    root: Path
    """The cache entry: ``lib/``, ``include/jemalloc/jemalloc.h``, ``COPYING``, the record."""
    library: Path
    record: dict[str, Any]
    reused: bool
    seconds: float


@dataclass(frozen=True, kw_only=True)
class _Job:
    """Everything one library build needs, resolved before anything is compiled."""

    settings: BuildSettings
    flavour: str
    environ: Mapping[str, str]
    toolchain: toolchain.Toolchain
    manifest: manifest.Manifest
    source: source.Source
    plan: configure.ConfigurePlan
    cache_dir: Path
    key: str

    @property
    def entry(self) -> Path:
        return self.cache_dir / "builds" / f"{self.flavour}-{self.key}"

    @property
    def library_name(self) -> str:
        return shared_library_name(self.toolchain.host, f"jemalloc{self.plan.install_suffix}")

    @property
    def everything(self) -> bool:
        """Show whole logs on failure (CI), not their tails."""
        return bool(self.environ.get("CI"))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _jobs(settings: BuildSettings, environ: Mapping[str, str]) -> list[str]:
    """-jN unless a parent make shares its jobserver with us (oversubscription was crate #92/#120)."""
    if settings.num_jobs is None and jobserver_usable(environ):
        return []
    return [f"-j{settings.num_jobs or os.cpu_count() or 1}"]


def _cache_key(plan: configure.ConfigurePlan, tc: toolchain.Toolchain, src: source.Source,
               environ: Mapping[str, str], *, upstream_tests: bool = False) -> str:
    material: dict[str, object] = {
        "builder": BUILDER_VERSION,
        "source": src.sha256 or f"tree:{src.tree}",
        "configure": src.configure_sha256,
        "args": plan.args,
        "cc": tc.identity,
        "cc_version": tc.version,
        "target": plan.target,
        "env": {k: environ.get(k, "") for k in FLAG_ENV},
        "tools": {k: toolchain.tool_identity(environ.get(k, ""), environ.get("PATH")) for k in TOOL_ENV},
        "make": make_variables(tc.host),
        "symbol_pass": symbol_pass_makefile(tc.family),
        "csrc": extra_objects.digest(plan.csrc + tuple(
            src for lib in extra_objects.LIBRARIES if lib.name in plan.extra_libraries for src in lib.sources)),
        "libraries": plan.extra_libraries,
        "link": plan.link_flags,
    }
    if upstream_tests:
        # An entry made without `make check` must not satisfy a request to run it.
        material["upstream_tests"] = True
    blob = json.dumps(material, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def toolchain_ldflags(tc: toolchain.Toolchain) -> list[str]:
    """LDFLAGS every link of ``tc`` gets (configure's probes too, so zig's runtime is built once with them)."""
    if tc.family == "zig" and tc.host.os not in ("darwin", "windows"):
        return ["-Wl,--strip-debug"]
    return []


def _compiler_flags(job: _Job, objdir: Path) -> dict[str, str]:
    """EXTRA_CFLAGS / LDFLAGS the builder adds: path maps, no debug info, and the toolchain's own needs.

    Path maps make the output independent of where it was built (reproducible, and
    no build folder leaks into the wheel); -g0 drops 4-6 MB of debug info that only
    the debug variant wants. zig: jemalloc's debug build compiles without
    optimization and zig cc then turns on UBSan and links its runtime (another
    allocator's checks than the variant promises, with the build folder spelled in
    its type descriptors); zig keeps frame pointers that gcc -O3 drops (the
    benchmarks' toolchain section); and zig compiles its own glibc shim with DWARF
    naming the build folder, so ELF links drop debug sections.
    """
    plan, tree = job.plan, job.source.tree
    cflags = [f"-ffile-prefix-map={objdir}=.", f"-ffile-prefix-map={tree}=jemalloc-{job.manifest.version}"]
    if "debug" not in plan.features:
        cflags.append("-g0")
    ldflags = toolchain_ldflags(job.toolchain)
    if job.toolchain.family == "zig":
        if "debug" in plan.features:
            cflags.append("-fno-sanitize=undefined")
        else:
            # zig cc keeps frame pointers at every optimization level, where gcc -O3 drops them; the
            # benchmarks' toolchain section measured the shipped build up to 1.05x the host gcc's, and
            # 0.99-1.01x with this flag. Profiling unwinds with DWARF, not frame pointers.
            cflags.append("-fomit-frame-pointer")
    flags = {"EXTRA_CFLAGS": " ".join([job.environ.get("EXTRA_CFLAGS", ""), *cflags]).strip()}
    if ldflags:
        flags["LDFLAGS"] = " ".join([job.environ.get("LDFLAGS", ""), *ldflags]).strip()
    return flags


def _make_command(job: _Job, target: str, objects: list[Path] | None = None, *,
                  objdir: Path | None = None) -> list[str]:
    """``make`` for ``target``; with ``objdir``, through the symbol-pass makefile written there (if the family has one)."""
    # jemalloc's configure resets EXTRA_LDFLAGS, so the variable (in FLAG_ENV and the cache key)
    # would never reach the library link; cross targets use it for e.g. -Wl,--out-implib. Our own
    # objects and link flags (extra_objects, the flavour's soname) go the same way.
    extra = " ".join([job.environ.get("EXTRA_LDFLAGS", ""), *map(str, objects or ()), *job.plan.link_flags]).strip()
    makefile = []
    wrapper = symbol_pass_makefile(job.toolchain.family)
    if objdir is not None and wrapper is not None:
        (objdir / SYMBOL_PASS_MAKEFILE).write_text(wrapper, encoding="utf-8")
        makefile = ["-f", SYMBOL_PASS_MAKEFILE]
    return [job.toolchain.make, *makefile, *_jobs(job.settings, job.environ), *make_variables(job.toolchain.host),
            *([f"EXTRA_LDFLAGS={extra}"] if extra else []), target]


def _read_defines(header: Path) -> dict[str, str]:
    defines = {}
    for line in header.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"#\s*define\s+(\w+)(?:\s+(.*))?$", line)
        if m:
            defines[m.group(1)] = (m.group(2) or "").strip()
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


def configured_backtrace(defs: Mapping[str, str]) -> str | None:
    """The backtrace method configure settled on, read from ``jemalloc_internal_defs.h`` (None: no profiling)."""
    if "JEMALLOC_PROF" not in defs:
        return None
    chosen = [method for method, define in BACKTRACE_DEFINES.items() if define in defs]
    return chosen[0] if chosen else "none"


def _check_backtrace(defs: Mapping[str, str], job: _Job, objdir: Path) -> None:
    """Fail unless configure chose exactly the backtrace method the plan asked for.

    jemalloc's configure quietly falls back when a probe fails (libgcc -> gcc intrinsics,
    or profiling off altogether); a library built that way crashed every profiled process
    (issue 10), so a mismatch stops the build here, before anything is packaged.
    """
    wanted = job.plan.backtrace
    if wanted is None:
        return
    got = configured_backtrace(defs)
    if got != wanted:
        what = "turned profiling off" if got is None else f"chose backtrace method {got!r}"
        raise ConfigureError(
            f"jemalloc configure {what} but this build asked for {wanted!r} (toolchain family"
            f" {job.toolchain.family}, see BACKTRACES in jemalloc_build/platforms.py); set"
            " JEMALLOC_SYS_PROF_BACKTRACE to a method this compiler supports",
            detail=config_log_excerpt(objdir / "config.log", everything=job.everything),
        )


def _write_link_stub(folder: Path) -> None:
    """An empty static archive named ``libgcc.a``: satisfies a ``-lgcc`` that has nothing left to provide."""
    stub = folder / "libgcc.a"
    if not stub.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = stub.with_name(f".libgcc.a.{os.getpid()}")
        tmp.write_bytes(b"!<arch>\n")
        os.replace(tmp, stub)


def _prepare(settings: BuildSettings, flavour: str, environ: Mapping[str, str]) -> _Job:
    """Resolve toolchain, source and configure plan; every check that needs no source runs before any fetch."""
    mf = manifest.load()
    cache_dir = cache.cache_root(settings.cache_dir)
    tc = toolchain.detect(target=settings.target, environ=environ)
    stubs = str(cache_dir / "cross-tools" / "link-stubs")

    def make_plan(known: frozenset[str] | None) -> configure.ConfigurePlan:
        return configure.plan(settings, target=tc.host, cross=tc.cross, manifest=mf, known_options=known,
                              flavour=flavour, family=tc.family, link_stub_dir=stubs, build=tc.build)

    make_plan(None)
    src = source.prepare(explicit=settings.source, manifest=mf, cache_dir=cache_dir, environ=environ)
    plan = make_plan(malloc_conf.known_options(src.tree))
    if any(arg == f"LIBS=-L{stubs}" for arg in plan.args):
        _write_link_stub(Path(stubs))
    key = _cache_key(plan, tc, src, environ, upstream_tests=settings.run_jemalloc_tests)
    return _Job(settings=settings, flavour=flavour, environ=environ, toolchain=tc, manifest=mf, source=src,
                plan=plan, cache_dir=cache_dir, key=key)


def _reuse(job: _Job, started: float, report: Reporter) -> BuildResult | None:
    record_path = job.entry / RECORD
    if not record_path.is_file():
        return None
    if not (job.entry / mallctl_types.FILE_NAME).is_file():
        mallctl_types.write(job.source.tree, job.entry)  # an entry cached before the table existed
    cached: dict[str, Any] = json.loads(record_path.read_text(encoding="utf-8"))
    report(f"jemalloc {cached['jemalloc_version']} ({job.flavour}): reusing build {job.entry}")
    return BuildResult(root=job.entry, library=job.entry / "lib" / cached["library"], record=cached,
                       reused=True, seconds=time.monotonic() - started)


def _configure(job: _Job, scratch: Path, env: dict[str, str], report: Reporter) -> tuple[str, dict[str, str]]:
    """Run configure in ``scratch/obj``; returns jemalloc's version string and its internal defines."""
    objdir = scratch / "obj"
    # Forward slashes: on Windows, MSYS2's sh and configure's dirname read C:/x/configure, not C:\x\configure.
    cmd = ["sh", (job.source.tree / "configure").as_posix(), "--prefix=/usr/local", *job.plan.args]
    group = configure_cache.key(args=job.plan.args, environ=env, compiler=job.toolchain.identity,
                                compiler_version=job.toolchain.version, target=job.plan.target,
                                configure_sha256=job.source.configure_sha256)
    cached = [f"--cache-file=../{configure_cache.FILE_NAME}"]
    seeded = configure_cache.seed(job.cache_dir, group, scratch / configure_cache.FILE_NAME)
    report(f"jemalloc {job.manifest.version} ({job.flavour}): configuring in {objdir}"
           + (" (probe answers from an earlier configure of this setup)" if seeded else ""))
    report("  $ " + shlex.join(cmd))
    status = run_logged([*cmd, *cached], cwd=objdir, env=env, log_path=scratch / "configure.log")
    if status != 0 and seeded and configure_cache.refused(scratch / "configure.log"):
        # autoconf found the shared answers inconsistent with this run: configure again from nothing.
        report(f"jemalloc {job.manifest.version} ({job.flavour}): configure failed with shared probe answers;"
               " configuring again without them")
        (scratch / configure_cache.FILE_NAME).unlink(missing_ok=True)
        shutil.rmtree(objdir)
        objdir.mkdir()
        seeded = False
        status = run_logged([*cmd, *cached], cwd=objdir, env=env, log_path=scratch / "configure.log")
    if status != 0:
        raise ConfigureError(
            f"jemalloc configure failed (exit {status}); the command and the end of config.log follow",
            detail=f"$ {shlex.join(cmd)}\n  (in {objdir}, CC={env['CC']})\n"
            + tail(scratch / "configure.log", 3) + "\n--- config.log ---\n"
            + config_log_excerpt(objdir / "config.log", everything=job.everything),
        )
    version = _check_version(objdir, job.plan, job.manifest)
    defs = _read_defines(objdir / "include" / "jemalloc" / "internal" / "jemalloc_internal_defs.h")
    _check_backtrace(defs, job, objdir)
    if not seeded:  # answers of a configure that passed the checks: the others of its group may start from them
        configure_cache.publish(job.cache_dir, group, scratch / configure_cache.FILE_NAME)
    return version, defs


def _make(job: _Job, scratch: Path, env: dict[str, str], report: Reporter) -> None:
    objects: list[Path] = []
    if job.plan.csrc:
        if extra_objects.ALIASES in job.plan.csrc:
            extra_objects.check_aliases(scratch / "obj")
        report(f"jemalloc {job.manifest.version} ({job.flavour}): compiling {', '.join(job.plan.csrc)}")
        objects = extra_objects.compile_all(job.plan.csrc, objdir=scratch / "obj", env=env)
    cmd = _make_command(job, "build_lib_shared", objects, objdir=scratch / "obj")
    # Each source is compiled twice: once to list its symbols (private namespace), once for the library.
    units = 2 * sum(1 for _ in (job.source.tree / "src").glob("*.c"))
    report(f"jemalloc {job.manifest.version} ({job.flavour}): $ {shlex.join(cmd)}")
    status = run_logged(cmd, cwd=scratch / "obj", env=env, log_path=scratch / "make.log",
                        on_line=make_progress(report, units))
    if status != 0:
        raise MakeError(
            f"jemalloc make failed (exit {status}); the end of its output follows",
            detail=f"$ {shlex.join(cmd)}\n  (in {scratch / 'obj'})\n--- make output ---\n"
            + tail(scratch / "make.log", 40, everything=job.everything),
        )


def _stage(job: _Job, scratch: Path, version: str, defs: Mapping[str, str], env: Mapping[str, str]) -> dict[str, Any]:
    """Copy what the package ships out of the object folder and write the record; returns the record."""
    objdir, plan, tc, lib_name = scratch / "obj", job.plan, job.toolchain, job.library_name
    (scratch / "lib").mkdir()
    shutil.copy2(objdir / "lib" / lib_name, scratch / "lib" / lib_name)
    for extra in plan.extra_libraries:
        extra_objects.link_library(extra, objdir=objdir, env=env, out=scratch / "lib" / extra)
    import_lib = import_library_name(tc.host, f"jemalloc{plan.install_suffix}")
    if import_lib is not None:
        if not (objdir / "lib" / import_lib).is_file():
            raise MakeError(f"the link produced no import library {import_lib} next to {lib_name};"
                            " use zig, or mingw-w64 with -Wl,--out-implib (jemalloc_build.cross)")
        shutil.copy2(objdir / "lib" / import_lib, scratch / "lib" / import_lib)
    (scratch / "include" / "jemalloc").mkdir(parents=True)
    shutil.copy2(objdir / "include" / "jemalloc" / f"jemalloc{plan.install_suffix}.h",
                 scratch / "include" / "jemalloc" / "jemalloc.h")
    shutil.copy2(job.source.tree / job.manifest.license_file, scratch / "COPYING")
    if "profiling" in plan.features and (objdir / "bin" / "jeprof").is_file():
        (scratch / "bin").mkdir()
        shutil.copy2(objdir / "bin" / "jeprof", scratch / "bin" / "jeprof")
    record: dict[str, Any] = {
        "jemalloc_version": version,
        "flavour": job.flavour,
        "features": sorted(plan.features),
        "configure_args": list(plan.args),
        "malloc_conf": plan.malloc_conf,
        **{name: _int_or_none(defs.get(name.upper())) for name in ("lg_page", "lg_hugepage", "lg_quantum", "lg_vaddr")},
        "symbol_prefix": plan.symbol_prefix,
        "tls_model": plan.tls_model,
        "prof_backtrace": plan.backtrace,
        "csrc": list(plan.csrc),
        "extra_libraries": list(plan.extra_libraries),
        "soname": plan.soname or lib_name,
        "library": lib_name,
        "import_library": import_lib,
        "compiler": {"cc": list(tc.identity), "version": tc.version},
        "target": plan.target,
        "source": {"sha256": job.source.sha256, "commit": job.manifest.commit,
                   "origin": job.source.origin if job.source.sha256 is None else "verified tarball"},
        "cache_key": job.key,
        "override": None,
    }
    (scratch / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    mallctl_types.write(job.source.tree, scratch)
    return record


def build_jemalloc(settings: BuildSettings, *, environ: Mapping[str, str], flavour: str = "inprocess",
                   report: Reporter = _stderr) -> BuildResult:
    """Build (or reuse) the jemalloc shared library for ``settings`` and ``flavour`` in ``environ``."""
    started = time.monotonic()
    job = _prepare(settings, flavour, environ)
    reused = _reuse(job, started, report)
    if reused is not None:
        return reused
    with cache.staged_entry(job.entry) as scratch:
        objdir = scratch / "obj"
        objdir.mkdir()
        env = {**job.environ, "CC": shlex.join(job.toolchain.cc), **_compiler_flags(job, objdir),
               **cross.build_env(job.toolchain.cc, objdir, shared=job.cache_dir / "zig", environ=job.environ)}
        version, defs = _configure(job, scratch, env, report)
        _make(job, scratch, env, report)
        if settings.run_jemalloc_tests:
            make = [job.toolchain.make, *_jobs(settings, job.environ)]
            upstream_tests.run(make, objdir=objdir, env=env, logs=scratch, report=report, everything=job.everything)
        record = _stage(job, scratch, version, defs, env)
        shutil.rmtree(objdir)
    seconds = time.monotonic() - started
    report(f"jemalloc {version} ({flavour}): built {job.library_name} in {seconds:.0f}s")
    return BuildResult(root=job.entry, library=job.entry / "lib" / job.library_name, record=record, reused=False,
                       seconds=seconds)


def settings_for(environ: Mapping[str, str], config_settings: Mapping[str, Any] | None = None,
                 pyproject: Mapping[str, Any] | None = None) -> BuildSettings:
    """Resolve settings, including the crate's ``<TARGET>_JEMALLOC_SYS_*`` per-target variables.

    Two passes: the target triple itself is a setting, and it decides which
    per-target names to look at.
    """
    first = settings_mod.resolve(environ=environ, config_settings=config_settings, pyproject=pyproject)
    tc = toolchain.detect(target=first.target, environ=environ)
    return settings_mod.resolve(environ=environ, config_settings=config_settings, pyproject=pyproject,
                                target_prefix=tc.host.env_prefix)


def build_all(settings: BuildSettings, *, environ: Mapping[str, str],
              report: Reporter = _stderr) -> dict[str, BuildResult]:
    """Build every flavour this platform ships (the preload library only where LD_PRELOAD exists)."""
    if settings.override:
        from . import override

        return {"inprocess": override.package(settings)}
    host_os = toolchain.detect(target=settings.target, environ=environ).host.os
    return {flavour: build_jemalloc(settings, environ=environ, flavour=flavour, report=report)
            for flavour, spec in configure.FLAVOURS.items() if spec.oses is None or host_os in spec.oses}


def jeprof_scripts(results: Mapping[str, BuildResult]) -> dict[str, Path]:
    """The ``jeprof`` scripts a package ships, by file name under ``bin/``.

    configure writes the library's symbol prefix into jeprof, which uses it to cut
    the allocator's own frames (``malloc`` vs ``_rjem_malloc``), so each library needs
    its own: ``jeprof`` reads the dumps of the process allocator (the preload library,
    ``jemalloc-sys run --profile``; the in-process library where there is no preload),
    ``jeprof-inprocess`` those of the in-process library next to a preload one.
    """
    found = {flavour: result.root / "bin" / "jeprof" for flavour, result in results.items()
             if (result.root / "bin" / "jeprof").is_file()}
    scripts = {}
    if "preload" in found:
        scripts["jeprof"] = found["preload"]
        if "inprocess" in found:
            scripts["jeprof-inprocess"] = found["inprocess"]
    elif "inprocess" in found:
        scripts["jeprof"] = found["inprocess"]
    return scripts


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None

