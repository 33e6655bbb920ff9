"""Our own C code, compiled with jemalloc's toolchain: into its libraries, or beside them.

The preload library carries two additions (``csrc/``; see :data:`configure.FLAVOURS`):
``prefixed_aliases.c`` (the in-process library's ``_rjem_`` names, issue 14) and
``fork_background.c`` (background threads back in fork children, issue 12). They are
compiled after configure, with the compiler and flags jemalloc itself uses, and handed
to jemalloc's link through ``EXTRA_LDFLAGS`` (the one variable its Makefile appends to
the library link).

Profiling builds also ship libraries of their own beside jemalloc's
(:data:`LIBRARIES`: the Python-frames hook, issue 17), linked with the same compiler and
flags so they meet the same platform policy. All of it is part of the cache key.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigureError, MakeError

CSRC = Path(__file__).resolve().parent / "csrc"
ALIASES = "prefixed_aliases.c"


def digest(names: tuple[str, ...]) -> dict[str, str]:
    """sha256 of each file's text: what the cache key needs to know about our code."""
    return {name: hashlib.sha256((CSRC / name).read_bytes()).hexdigest() for name in names}


OPTIONAL_NAMES = frozenset({"memalign", "valloc", "pvalloc"})
"""Public names configure lists only where the C library has the function (``AC_CHECK_FUNC``: musl
has no ``pvalloc``). ``prefixed_aliases.c`` compiles their aliases under jemalloc's own
``JEMALLOC_OVERRIDE_*`` macros, so an alias exists exactly when jemalloc exports the function."""


def aliased_names() -> frozenset[str]:
    """The public names ``prefixed_aliases.c`` answers under the ``_rjem_`` prefix."""
    text = (CSRC / ALIASES).read_text(encoding="utf-8")
    return frozenset(re.findall(r"^EXPORT\b[^;{]*?\b_rjem_(\w+)\b", text, re.M))


def check_aliases(objdir: Path) -> None:
    """Refuse a jemalloc whose public API differs from the alias list (a version bump must update it).

    configure writes ``public_symbols.txt`` (``name:symbol`` per line) for the prefix in use.
    """
    listing = objdir / "include" / "jemalloc" / "internal" / "public_symbols.txt"
    public = {line.split(":", 1)[0] for line in listing.read_text(encoding="utf-8").split() if ":" in line}
    # smallocx_<commit> is listed always but exists only with --enable-experimental-smallocx, never passed here.
    public = {name for name in public if not name.startswith("smallocx_")}
    missing, extra = sorted(public - aliased_names()), sorted(aliased_names() - public - OPTIONAL_NAMES)
    if missing or extra:
        raise ConfigureError(
            f"jemalloc's public API ({listing.name}) and jemalloc_build/csrc/{ALIASES} differ:"
            f" not aliased {missing or 'none'}, unknown {extra or 'none'}; update {ALIASES} for this jemalloc")


def compile_all(names: tuple[str, ...], *, objdir: Path, env: Mapping[str, str]) -> list[Path]:
    """Compile each file to ``objdir/jemalloc_sys_<stem>.o`` with ``CC``, ``CPPFLAGS``, ``CFLAGS``, ``EXTRA_CFLAGS``."""
    objects = []
    # objdir/include holds jemalloc's generated jemalloc/jemalloc_defs.h (what this configure found).
    flags = [f"-I{objdir / 'include'}", *shlex.split(env.get("CPPFLAGS", "")), *shlex.split(env.get("CFLAGS", "")),
             *shlex.split(env.get("EXTRA_CFLAGS", ""))]
    for name in names:
        out = objdir / f"jemalloc_sys_{Path(name).stem}.o"
        cmd = [*shlex.split(env["CC"]), *flags, "-O2", "-fomit-frame-pointer", "-fPIC", "-fvisibility=hidden", "-c", str(CSRC / name),
               "-o", str(out)]
        proc = subprocess.run(cmd, cwd=objdir, env=dict(env), capture_output=True, text=True)
        if proc.returncode != 0:
            raise MakeError(f"compiling jemalloc_build/csrc/{name} failed (exit {proc.returncode})",
                            detail=f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"[-4000:])
        objects.append(out)
    return objects


@dataclass(frozen=True, kw_only=True)
class ExtraLibrary:
    """A shared library of our own shipped next to jemalloc's, when the build has ``feature``."""

    name: str
    sources: tuple[str, ...]
    feature: str
    oses: frozenset[str]
    why: str


LIBRARIES: tuple[ExtraLibrary, ...] = (
    ExtraLibrary(
        name="libjemalloc_sys_pyframes.so", sources=("pyframes.c",), feature="profiling", oses=frozenset({"linux"}),
        why="Python frames in heap profiles (jemalloc_sys.pyframes): a prof_backtrace hook, one build serving"
            " every CPython version"),
)


def libraries_for(features: frozenset[str], target_os: str) -> tuple[str, ...]:
    """Names of the :data:`LIBRARIES` a build with ``features`` for ``target_os`` ships."""
    return tuple(lib.name for lib in LIBRARIES if lib.feature in features and target_os in lib.oses)


def link_library(name: str, *, objdir: Path, env: Mapping[str, str], out: Path) -> Path:
    """Compile and link one of :data:`LIBRARIES` with ``CC``, the compiler flags and ``LDFLAGS``."""
    lib = next(item for item in LIBRARIES if item.name == name)
    flags = [*shlex.split(env.get("CPPFLAGS", "")), *shlex.split(env.get("CFLAGS", "")),
             *shlex.split(env.get("EXTRA_CFLAGS", ""))]
    cmd = [*shlex.split(env["CC"]), *flags, "-O2", "-fPIC", "-fvisibility=hidden", "-shared",
           *[str(CSRC / src) for src in lib.sources], *shlex.split(env.get("LDFLAGS", "")), "-o", str(out)]
    proc = subprocess.run(cmd, cwd=objdir, env=dict(env), capture_output=True, text=True)
    if proc.returncode != 0:
        raise MakeError(f"linking {name} from jemalloc_build/csrc failed (exit {proc.returncode})",
                        detail=f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"[-4000:])
    return out
