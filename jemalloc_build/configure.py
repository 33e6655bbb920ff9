"""From settings to the exact ``configure`` invocation: one pure function.

Keeping this free of I/O means the flags a configuration produces can be
inspected (``python -m jemalloc_build plan``), tested, and reused by the conda
recipe without spelling a single flag twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import extra_objects
from . import features as features_mod
from . import malloc_conf as malloc_conf_mod
from .errors import SettingError
from .manifest import Manifest
from .platforms import (
    BACKTRACE_FLAGS,
    FORCED_PREFIX_OS,
    Backtrace,
    Triple,
    backtrace_for,
    configure_machines,
    portable_defaults,
)
from .settings import BuildSettings, setting_fields

log = logging.getLogger(__name__)

PREFIX = "_rjem_"
"""The crate's symbol prefix; also the private namespace. Shared by every variant (one ABI)."""


@dataclass(frozen=True, kw_only=True)
class Flavour:
    """A library the package ships, built from the same settings with a twist."""

    name: str
    install_suffix: str
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()
    oses: frozenset[str] | None = None
    csrc: tuple[str, ...] = ()
    """Our own C files (``jemalloc_build/csrc/``) compiled and linked into this library."""
    soname: str = ""
    """The ELF soname to link with instead of jemalloc's own (its file name)."""
    ldflags: tuple[str, ...] = ()
    """Extra flags for this library's link (after jemalloc's own)."""
    why: str = ""


FLAVOURS: dict[str, Flavour] = {
    "inprocess": Flavour(
        name="inprocess",
        install_suffix="_sys",
        why="prefixed, dlopen-safe: what import, ctypes and linked extensions use",
    ),
    "preload": Flavour(
        name="preload",
        install_suffix="_sys_preload",
        add=frozenset({"unprefixed_malloc_on_supported_platforms"}),
        remove=frozenset({"disable_initial_exec_tls"}),
        oses=frozenset({"linux"}),
        # Issue 14: it also answers as the in-process library (same soname, _rjem_ names bound inside
        # the library by -Bsymbolic), so extensions under the runner use the one process allocator.
        # Issue 12: background threads come back in fork children.
        csrc=("prefixed_aliases.c", "fork_background.c"),
        soname="libjemalloc_sys.so.2",
        ldflags=("-Wl,-Bsymbolic",),
        why="unprefixed with initial-exec TLS: loaded at start-up by LD_PRELOAD, replacing malloc",
    ),
}


@dataclass(frozen=True, kw_only=True)
class ConfigurePlan:
    flavour: str
    features: frozenset[str]
    symbol_prefix: str
    """'' when malloc & co. are exported unprefixed."""
    install_suffix: str
    malloc_conf: str
    lg: dict[str, int | None]
    """Explicit --with-lg-* values (None: left to jemalloc, which never probes for these here)."""
    args: tuple[str, ...]
    """Everything after ``configure`` except ``--prefix``/``--srcdir`` (which depend on folders)."""
    tls_model: str
    target: str
    backtrace: str | None = None
    """The profiling backtrace method asked of configure (None without profiling)."""
    csrc: tuple[str, ...] = ()
    """Our C files linked into the library (:attr:`Flavour.csrc`)."""
    link_flags: tuple[str, ...] = ()
    """Flags for the library link, after jemalloc's (soname, -Bsymbolic)."""
    soname: str = ""
    """The soname linked in, when it is not the file name (:attr:`Flavour.soname`)."""
    extra_libraries: tuple[str, ...] = ()
    """Our own libraries built beside this one (:data:`jemalloc_build.extra_objects.LIBRARIES`)."""


def requested_features(settings: BuildSettings) -> frozenset[str]:
    """The variant's features, then the user's (``-name`` may drop a default, never a variant's feature)."""
    from . import variants

    variant = variants.get(settings.variant or "base")
    chosen = features_mod.select([*variant.features, *settings.features])
    dropped = [f for f in variant.features if f not in chosen]
    if dropped:
        raise SettingError(f"JEMALLOC_SYS_FEATURES drops {', '.join(dropped)}, which the {variant.name} variant"
                           f" is built with; remove '-{dropped[0]}' or build another variant")
    return chosen


def _backtrace(settings: BuildSettings, chosen: frozenset[str], *, family: str, target: Triple) -> Backtrace | None:
    """The backtrace method of a profiling build: the setting, else the platform table; refused if none works."""
    libunwind = "profiling_libunwind" in chosen
    if settings.prof_backtrace and "profiling" not in chosen:
        raise SettingError(f"JEMALLOC_SYS_PROF_BACKTRACE={settings.prof_backtrace} needs the profiling feature;"
                           " add profiling to JEMALLOC_SYS_FEATURES or unset it")
    if "profiling" not in chosen:
        return None
    if libunwind and settings.prof_backtrace not in ("", "libunwind"):
        raise SettingError(f"JEMALLOC_SYS_PROF_BACKTRACE={settings.prof_backtrace} contradicts the feature"
                           " profiling_libunwind (which means libunwind); drop one of them")
    table = backtrace_for(family, libunwind_feature=libunwind)
    if settings.prof_backtrace and settings.prof_backtrace != table.method:
        table = Backtrace(method=settings.prof_backtrace, why="JEMALLOC_SYS_PROF_BACKTRACE")
    if table.method is None:
        raise SettingError(f"profiling cannot be built for {target.triple} with this compiler ({family}): {table.why};"
                           " drop the profiling feature (use the base or stats variant) or build with GCC or clang")
    if table.method == "frameptr" and target.os != "linux":
        raise SettingError(f"JEMALLOC_SYS_PROF_BACKTRACE=frameptr works on Linux only (target {target.triple});"
                           " use libgcc")
    return table


def _base_args(manifest: Manifest, spec: Flavour, machines: tuple[str, ...]) -> list[str]:
    """What every build passes: shared library only, our version, namespace and file names, the machines."""
    return ["--disable-cxx", "--enable-doc=no", "--disable-static", "--enable-shared",
            f"--with-version={manifest.version_string}", f"--with-private-namespace={PREFIX}",
            f"--with-install-suffix={spec.install_suffix}", *machines]


def _symbol_prefix(chosen: frozenset[str], target: Triple) -> str:
    """The crate's prefix, unless unprefixed was asked for and the platform allows it (FORCED_PREFIX_OS)."""
    if "unprefixed_malloc_on_supported_platforms" not in chosen:
        return PREFIX
    return FORCED_PREFIX_OS.get(target.os, "")


def _feature_args(chosen: frozenset[str], settings: BuildSettings,
                  known_options: frozenset[str] | None) -> tuple[list[str], str]:
    """Each feature's configure flags, and the malloc_conf they and the setting bake in."""
    args: list[str] = []
    conf_parts: list[str] = []
    for feature in features_mod.FEATURES:
        if feature.name == "profiling_libunwind":
            continue  # a backtrace method: selected with the others (_backtrace_args)
        on = feature.name in chosen
        args.extend(feature.configure_on if on else feature.configure_off)
        conf_parts.extend(feature.malloc_conf_on if on else feature.malloc_conf_off)
        if on and (feature.configure_on or feature.malloc_conf_on):
            log.debug("feature %s: %s", feature.name, " ".join(feature.configure_on + feature.malloc_conf_on))
    if settings.with_malloc_conf:
        # Syntax is checked always; option names once the source (which defines them) is at hand.
        malloc_conf_mod.split(settings.with_malloc_conf)
        if known_options is not None:
            malloc_conf_mod.validate(settings.with_malloc_conf, known_options)
    malloc_conf = malloc_conf_mod.join(*conf_parts, settings.with_malloc_conf)
    if malloc_conf:
        args.append(f"--with-malloc-conf={malloc_conf}")
    return args, malloc_conf


def _lg_values(settings: BuildSettings, target: Triple) -> dict[str, int | None]:
    """The --with-lg-* values: the settings, else the platform table (never probed on the build machine)."""
    defaults = portable_defaults(target)
    return {
        "lg_page": settings.with_lg_page if settings.with_lg_page is not None else defaults.lg_page,
        "lg_hugepage": settings.with_lg_hugepage if settings.with_lg_hugepage is not None else defaults.lg_hugepage,
        "lg_quantum": settings.with_lg_quantum,
        "lg_vaddr": settings.with_lg_vaddr if settings.with_lg_vaddr is not None else defaults.lg_vaddr,
    }


def _check_lg(lg: dict[str, int | None], chosen: frozenset[str]) -> None:
    page, huge, quantum = lg["lg_page"], lg["lg_hugepage"], lg["lg_quantum"]
    if page is not None and huge is not None and huge < page:
        raise SettingError(f"JEMALLOC_SYS_WITH_LG_HUGEPAGE={huge} is smaller than the page size (lg_page={page});"
                           f" use a value from {page} to 30")
    if quantum is not None and page is not None and quantum >= page:
        raise SettingError(f"JEMALLOC_SYS_WITH_LG_QUANTUM={quantum} must be below lg_page={page}")
    if quantum == 3 and "debug" in chosen:
        # jemalloc 5.3.1's debug build asserts SC_LG_TINY_MAXCLASS <= ... at start-up; with lg_quantum=3
        # that macro is -1, compared as size_t, so every process aborts (found by our tests, src/jemalloc.c).
        raise SettingError(
            "JEMALLOC_SYS_WITH_LG_QUANTUM=3 cannot be combined with the debug feature (jemalloc 5.3.1's debug"
            " assertions abort at start-up with an 8-byte quantum); use 4, or drop debug")


def _lg_args(lg: dict[str, int | None]) -> list[str]:
    flags = {f.name.removeprefix("with_"): f.metadata["configure"] for f in setting_fields()
             if f.name.startswith("with_lg")}
    return [f"{flags[name]}={value}" for name, value in lg.items() if value is not None]


def _backtrace_args(backtrace: Backtrace | None, link_stub_dir: str) -> list[str]:
    if backtrace is None or backtrace.method is None:
        return []
    log.debug("profiling backtrace: %s (%s)", backtrace.method, backtrace.why)
    args = list(BACKTRACE_FLAGS[backtrace.method])
    if backtrace.method == "libgcc":
        args += backtrace.configure_vars
        if backtrace.link_stub:
            args.append(f"LIBS=-L{link_stub_dir}")
    return args


def plan(
    settings: BuildSettings,
    *,
    target: Triple,
    cross: bool,
    manifest: Manifest,
    known_options: frozenset[str] | None,
    flavour: str = "inprocess",
    family: str = "gnu",
    link_stub_dir: str = "",
    build: Triple | None = None,
) -> ConfigurePlan:
    """The configure arguments of one library; ``family`` is the toolchain's (it decides the backtrace method).

    ``build`` is the machine running configure (default: ``target``, a native build);
    it is named to configure only for toolchains that must not let config.guess guess
    (:data:`jemalloc_build.platforms.CONFIGURE_SYSTEMS`).

    ``link_stub_dir`` is the folder holding the empty ``libgcc.a`` for toolchains whose
    table entry asks for one (see :data:`jemalloc_build.platforms.BACKTRACES`).
    """
    spec = FLAVOURS[flavour]
    chosen = features_mod.check_requirements((requested_features(settings) - spec.remove) | spec.add)
    backtrace = _backtrace(settings, chosen, family=family, target=target)
    prefix = _symbol_prefix(chosen, target)
    feature_args, malloc_conf = _feature_args(chosen, settings, known_options)
    lg = _lg_values(settings, target)
    _check_lg(lg, chosen)
    # Loading a zone-registering jemalloc into a running interpreter would make it the
    # process's default malloc zone behind Python's back (docs/design.md, macOS).
    zone = ["--disable-zone-allocator"] if target.os == "darwin" and flavour == "inprocess" else []
    machines = configure_machines(family, target=target, build=build or target, cross=cross)
    args = [*_base_args(manifest, spec, machines), f"--with-jemalloc-prefix={prefix}", *feature_args,
            *_lg_args(lg), *zone, *_backtrace_args(backtrace, link_stub_dir)]
    return ConfigurePlan(
        flavour=flavour,
        features=chosen,
        symbol_prefix=prefix,
        install_suffix=spec.install_suffix,
        malloc_conf=malloc_conf,
        lg=lg,
        args=tuple(args),
        tls_model="global-dynamic" if "disable_initial_exec_tls" in chosen else "initial-exec",
        target=target.triple,
        backtrace=backtrace.method if backtrace is not None else None,
        csrc=spec.csrc,
        link_flags=(*((f"-Wl,-soname,{spec.soname}",) if spec.soname else ()), *spec.ldflags),
        soname=spec.soname,
        # Built with the in-process library only: one copy per package.
        extra_libraries=extra_objects.libraries_for(chosen, target.os) if flavour == "inprocess" else (),
    )
