"""Facts about target platforms, as data.

Every entry says why it is there. The builder never lets ``configure`` read the
page size, huge-page size or address width off the build machine: a wheel built
on one machine runs on many (docs/design.md, "Portable page sizes").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Triple:
    """A GNU-style target triple split into the parts the build cares about."""

    triple: str
    arch: str
    os: str

    @property
    def env_prefix(self) -> str:
        """``x86_64-linux-gnu`` -> ``X86_64_LINUX_GNU``, the crate's per-target env var prefix."""
        return self.triple.upper().replace("-", "_").replace(".", "_")


_ARCH_ALIASES = {"amd64": "x86_64", "arm64": "aarch64", "i386": "i686", "i586": "i686", "armv7l": "armv7"}


def parse_triple(triple: str) -> Triple:
    parts = triple.strip().split("-")
    # platform.machine() says AMD64/ARM64 on Windows: the aliases are matched whatever the case.
    arch = _ARCH_ALIASES.get(parts[0].lower(), parts[0])
    rest = "-".join(parts[1:]).lower()
    for os_name, marker in (
        ("android", "android"),
        ("darwin", "darwin"),
        ("darwin", "apple"),
        ("darwin", "macos"),
        ("windows", "mingw"),
        ("windows", "windows"),
        ("windows", "msvc"),
        ("windows", "win32"),
        ("dragonfly", "dragonfly"),
        ("freebsd", "freebsd"),
        ("linux", "linux"),
    ):
        if marker in rest:
            return Triple(triple=triple.strip(), arch=arch, os=os_name)
    return Triple(triple=triple.strip(), arch=arch, os=rest or "unknown")


CONFIGURE_SYSTEMS: dict[str, str] = {
    # Keyed by toolchain family (jemalloc_build.toolchain.Toolchain.family).
    # MSVC's cl runs jemalloc's configure from an MSYS2 shell. configure recognises Windows only
    # as *-*-mingw* (then finds cl itself: je_cv_msvc), which is what config.guess answers in
    # upstream's MSVC CI (MSYS2's MINGW64 shell). Left to guess, it answers x86_64-pc-msys in an
    # MSYS shell, and x86_64 on windows-11-arm, whose MSYS2 runs x86-64 code under emulation
    # (jemalloc issue #2672). So the builder names both machines and config.guess never runs.
    "msvc": "w64-mingw32",
}
"""Toolchain family -> the system part of the ``--build``/``--host`` triples configure is always given."""


def configure_machines(family: str, *, target: Triple, build: Triple, cross: bool) -> tuple[str, ...]:
    """``--build``/``--host`` arguments: named outright for the families of :data:`CONFIGURE_SYSTEMS`,
    ``--host`` alone when cross-compiling, otherwise none (config.guess is right on the machine itself)."""
    system = CONFIGURE_SYSTEMS.get(family)
    if system is not None:
        return f"--build={build.arch}-{system}", f"--host={target.arch}-{system}"
    return (f"--host={target.triple}",) if cross else ()


FORCED_PREFIX_OS: dict[str, str] = {
    # The crate keeps its prefix here even with unprefixed_malloc_on_supported_platforms:
    # replacing malloc is unsupported (Apple: zone allocator; Android/DragonFly: libc
    # exposes its own; crate src/env.rs).
    "darwin": "_rjem_",
    "android": "_rjem_",
    "dragonfly": "_rjem_",
    # Windows: jemalloc itself never replaces the CRT allocator; it keeps its own
    # default prefix je_ when none is given (jemalloc configure.ac; docs/design.md, "Windows").
    "windows": "je_",
}


@dataclass(frozen=True, kw_only=True)
class PortableDefaults:
    lg_page: int | None = None
    lg_hugepage: int | None = None
    lg_vaddr: int | None = None
    why: str = ""


# (os, arch) -> defaults; "*" matches anything. First match wins.
PORTABLE_DEFAULTS: tuple[tuple[str, str, PortableDefaults], ...] = (
    ("linux", "x86_64", PortableDefaults(
        lg_page=12, lg_hugepage=21, lg_vaddr=48,
        why="x86-64 pages are 4 KiB; configure probes CPUID for the address width "
            "(it picked 57 on a 5-level-paging build host), but Linux hands out "
            "addresses above 47 bits only on request, so 48 is right everywhere")),
    ("linux", "aarch64", PortableDefaults(
        lg_page=16, lg_hugepage=21, lg_vaddr=48,
        why="kernels run 4K, 16K or 64K pages; a 64K build works on all three, a 4K "
            "build aborts on the others (crate #80, Debian, jemalloc 5.3.1's own default)")),
    ("linux", "*", PortableDefaults(
        lg_page=16, lg_hugepage=21,
        why="Debian's choice for every non-x86 architecture: a larger page size is safe "
            "on smaller OS pages, never the reverse")),
    ("linux", "i686", PortableDefaults(lg_page=12, lg_hugepage=21, why="x86 pages are 4 KiB")),
    ("darwin", "aarch64", PortableDefaults(
        lg_page=14, why="Apple silicon uses 16 KiB pages (conda-forge osx-arm64)")),
    ("darwin", "x86_64", PortableDefaults(lg_page=12, lg_vaddr=48, why="Intel Macs use 4 KiB pages")),
    ("windows", "x86_64", PortableDefaults(lg_page=12, lg_vaddr=48, why="Windows pages are 4 KiB")),
    ("windows", "aarch64", PortableDefaults(lg_page=12, lg_vaddr=48, why="Windows on Arm uses 4 KiB pages")),
)


def portable_defaults(target: Triple) -> PortableDefaults:
    # Exact arch entries take precedence over the "*" entry of the same OS.
    for os_name, arch, defaults in PORTABLE_DEFAULTS:
        if os_name == target.os and arch == target.arch:
            return defaults
    for os_name, arch, defaults in PORTABLE_DEFAULTS:
        if os_name == target.os and arch == "*":
            return defaults
    return PortableDefaults()


def shared_library_name(target: Triple, stem: str) -> str:
    """File name of the shared library jemalloc's Makefile produces for ``stem``."""
    if target.os == "darwin":
        return f"lib{stem}.2.dylib"
    if target.os == "windows":
        return f"{stem}.dll"
    return f"lib{stem}.so.2"


def import_library_name(target: Triple, stem: str) -> str | None:
    """The import library a Windows link writes next to ``<stem>.dll`` (None elsewhere).

    MSVC-style ``<stem>.lib``: what MSVC's link.exe expects, and mingw's ld reads it too.
    zig writes it by itself; mingw-w64 gcc needs ``-Wl,--out-implib`` (jemalloc_build.cross).
    """
    return f"{stem}.lib" if target.os == "windows" else None


MAKE_VARIABLES: dict[str, dict[str, str]] = {
    # jemalloc links Darwin libraries with `-install_name $(LIBDIR)/<file>` (configure.ac,
    # DSO_LDFLAGS); a wheel's library lives next to its users, not in /usr/local/lib, so it
    # must be @rpath/<file>. Setting it at link time (rather than install_name_tool
    # afterwards) keeps the arm64 ad-hoc code signature valid (docs/design.md, "macOS").
    "darwin": {"LIBDIR": "@rpath"},
}


BACKTRACE_FLAGS: dict[str, tuple[str, ...]] = {
    # jemalloc tries libunwind, frame pointers, libgcc, gcc intrinsics in that order and silently
    # takes the next when a probe fails (configure.ac, "configured backtracing method"); each method
    # here turns the others off, so a failed probe leaves profiling disabled instead of falling back.
    "libgcc": ("--enable-prof-libgcc", "--disable-prof-gcc"),
    "libunwind": ("--enable-prof-libunwind", "--disable-prof-libgcc", "--disable-prof-gcc"),
    "frameptr": ("--enable-prof-frameptr", "--disable-prof-libgcc", "--disable-prof-gcc"),
    "gcc": ("--disable-prof-libgcc", "--enable-prof-gcc"),
}
"""Backtrace method (jemalloc's own names) -> configure flags that select it and nothing else."""

BACKTRACE_DEFINES: dict[str, str] = {
    "libgcc": "JEMALLOC_PROF_LIBGCC",
    "libunwind": "JEMALLOC_PROF_LIBUNWIND",
    "frameptr": "JEMALLOC_PROF_FRAME_POINTER",
    "gcc": "JEMALLOC_PROF_GCC",
}
"""The ``jemalloc_internal_defs.h`` define each method leaves behind: how the builder reads back what configure chose."""


@dataclass(frozen=True, kw_only=True)
class Backtrace:
    """How profiling builds of one toolchain family collect stacks, and why."""

    method: str | None
    """A key of :data:`BACKTRACE_FLAGS`; None: no method works, profiling cannot be built."""
    configure_vars: tuple[str, ...] = ()
    """``VAR=value`` arguments for configure (autoconf takes them after the options)."""
    link_stub: bool = False
    """Give the link an empty ``libgcc.a``: configure insists on ``-lgcc`` although the symbol is elsewhere."""
    why: str = ""


BACKTRACES: dict[str, Backtrace] = {
    # Keyed by toolchain family (jemalloc_build.toolchain.Toolchain.family).
    "gnu": Backtrace(
        method="libgcc",
        why="gcc (and clang on Linux) link libgcc, whose _Unwind_Backtrace reads .eh_frame: correct through"
            " code built without frame pointers (CPython, most distributions' libraries)"),
    "zig": Backtrace(
        method="libgcc", configure_vars=("LIBS=-lunwind",),
        why="zig cc has no libgcc, so configure's -lgcc probe fails and 5.3.1 silently falls back to"
            " __builtin_return_address(N), which crashes the first sampled allocation in code without frame"
            " pointers (issue 10: every process with prof:true died). zig ships LLVM's libunwind, which"
            " implements the same _Unwind_Backtrace interface; -lunwind links it statically with hidden"
            " symbols (no new NEEDED entry, nothing exported)"),
    "apple": Backtrace(
        method="libgcc", configure_vars=("ac_cv_lib_gcc__Unwind_Backtrace=yes",), link_stub=True,
        why="_Unwind_Backtrace is part of libSystem, but 5.3.1's configure still probes -lgcc (upstream"
            " skips the probe on Mach-O after 5.3.1, jemalloc PR #2314); an empty libgcc.a satisfies the link"),
    "msvc": Backtrace(
        method=None,
        why="jemalloc's configure offers backtraces only with GCC-compatible compilers; with cl every"
            " method is refused and profiling is silently disabled, so the builder refuses instead"),
}
"""Backtrace method per toolchain family: chosen on purpose, passed explicitly, verified after configure."""


def backtrace_for(family: str, *, libunwind_feature: bool = False) -> Backtrace:
    """The table's entry for ``family``; the crate's ``profiling_libunwind`` feature asks for libunwind."""
    if libunwind_feature:
        return Backtrace(method="libunwind", why="feature profiling_libunwind: the system libunwind's unw_backtrace")
    return BACKTRACES.get(family, BACKTRACES["gnu"])


ONE_SHOT_MAKE_VARIABLES: dict[str, str] = {
    # jemalloc's Makefile compiles each object and then runs the compiler again (-MM) to write a
    # dependency file, which only a later rebuild in the same folder reads; the builder's object
    # folder is thrown away after one build. About 15 % of make's time with zig (docs/design.md,
    # "Build speed").
    "CC_MM": "",
}
"""Make variables of every build: a one-shot build skips what only incremental rebuilds use."""

SYMBOL_PASS_CFLAGS: dict[str, tuple[str, ...]] = {
    # Keyed by toolchain family. jemalloc compiles every source twice: once (*.sym.o) only so that
    # nm can list the global symbols it defines, from which private_namespace.h renames them; once
    # for the library. Which globals a C file defines does not depend on optimization, so the
    # listing pass needs no -O3 -funroll-loops; zig cc turns UBSan on without optimization, which
    # the listing does not need either. Not for gcc: at -O0 gcc takes 4x longer on jemalloc.c
    # (its always_inline functions), which would be the build's longest compile.
    "zig": ("-O0", "-fno-sanitize=undefined"),
}
"""Extra CFLAGS for jemalloc's symbol-listing compiles, per toolchain family (none: as configured)."""


def make_variables(target: Triple) -> list[str]:
    """``NAME=value`` arguments for ``make`` on ``target`` (command-line variables beat the Makefile's)."""
    variables = {**ONE_SHOT_MAKE_VARIABLES, **MAKE_VARIABLES.get(target.os, {})}
    return [f"{name}={value}" for name, value in variables.items()]


def symbol_pass_makefile(family: str) -> str | None:
    """A makefile that includes jemalloc's and sets :data:`SYMBOL_PASS_CFLAGS` on its listing objects."""
    flags = SYMBOL_PASS_CFLAGS.get(family)
    if not flags:
        return None
    return f"include Makefile\n$(C_SYM_OBJS): CFLAGS += {' '.join(flags)}\n"
