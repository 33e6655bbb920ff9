"""The C toolchain as the build sees it: which compiler, for which target."""

from __future__ import annotations

import functools
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolchainError
from .platforms import Triple, parse_triple


@dataclass(frozen=True, kw_only=True)
class Toolchain:
    cc: tuple[str, ...]
    """The compiler command (``CC`` may carry arguments, e.g. ``zig cc -target ...``)."""
    version: str
    """First line of ``cc --version``: part of the cache key and the build record."""
    host: Triple
    """What we build for: ``JEMALLOC_SYS_TARGET``, else what the compiler targets (``-dumpmachine``)."""
    make: str
    identity: tuple[str, ...] = ()
    """What the compiler *is*, for the cache key: ``python -m ziglang cc`` and ``/usr/bin/zig cc`` of one zig
    release are the same compiler, so the command is reduced to ``zig <version>`` (or the resolved path of
    the program) plus its arguments. Two checkouts, two venvs, one interpreter: one cache entry."""

    @property
    def family(self) -> str:
        """``zig``, ``msvc``, ``apple`` or ``gnu``: the key of :data:`jemalloc_build.platforms.BACKTRACES`."""
        if is_zig(self.cc):
            return "zig"
        if Path(self.cc[0]).name.lower().removesuffix(".exe") in MSVC_DRIVERS:
            return "msvc"
        if self.host.os == "darwin":
            return "apple"
        return "gnu"

    @property
    def build(self) -> Triple:
        """The machine this runs on (what configure calls the build system)."""
        return parse_triple(f"{platform.machine()}-{sys.platform}")

    @property
    def cross(self) -> bool:
        """True when the library cannot run on this machine (configure then needs ``--host``)."""
        return (self.host.arch, self.host.os) != (self.build.arch, self.build.os)


def is_zig(cc: tuple[str, ...] | list[str]) -> bool:
    """True for ``zig cc`` however it is spelled (``zig cc``, ``python -m ziglang cc``)."""
    return any(Path(part).name in ("zig", "ziglang", "zig.exe") for part in cc[:3])


def _run(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ToolchainError(
            f"CC={shlex.join(cmd[:-1])}: cannot run the C compiler ({exc.strerror});"
            " install one (apt-get install gcc, xcode-select --install, or MSYS2 for Windows) or set CC"
        ) from None
    if proc.returncode != 0:
        raise ToolchainError(
            f"CC={shlex.join(cmd[:-1])}: '{cmd[-1]}' failed (exit {proc.returncode}); set CC to a working C compiler",
            detail=proc.stderr[-2000:],
        )
    return proc.stdout.strip()


def detect(*, target: str = "", environ: Mapping[str, str]) -> Toolchain:
    """The toolchain ``environ`` selects (``CC``, ``MAKE``, ``PATH``), building for ``target`` if given."""
    env = dict(environ)
    cc = tuple(shlex.split(env.get("CC", "") or "cc"))
    if not cc or shutil.which(cc[0], path=env.get("PATH")) is None:
        raise ToolchainError(
            f"CC={' '.join(cc) or 'cc'}: C compiler not found on PATH;"
            " install one (apt-get install gcc / xcode-select --install) or set CC to its path"
        )
    make = env.get("MAKE", "") or next((m for m in ("make", "gmake", "mingw32-make") if shutil.which(m)), "")
    if not make or shutil.which(make, path=env.get("PATH")) is None:
        raise ToolchainError(
            f"MAKE={make or 'make'}: GNU make not found on PATH; install it (apt-get install make / brew install make)"
        )
    if Path(cc[0]).name.lower().removesuffix(".exe") in MSVC_DRIVERS:
        version, native = _msvc(cc, env)
    else:
        version = _run([*cc, "--version"]).splitlines()[0]
        # Only asked when no target is named: `zig cc -target aarch64-linux-gnu.2.17
        # -dumpmachine` fails (clang rejects the glibc version suffix) although zig builds fine.
        native = "" if target else _run([*cc, "-dumpmachine"])
    host = parse_triple(target) if target else parse_triple(native)
    return Toolchain(cc=cc, version=version, host=host, make=make, identity=_identity(cc, env.get("PATH")))


ZIG_SUBCOMMANDS = ("cc", "ar", "ranlib", "objcopy", "c++")


def _identity(cc: tuple[str, ...], path: str | None) -> tuple[str, ...]:
    """A tool command reduced to what it is: ``zig <version> <subcommand> <args>``, or the program's real path."""
    if is_zig(cc):
        at = next((i for i, part in enumerate(cc) if part in ZIG_SUBCOMMANDS), len(cc))
        return ("zig", _zig_version(cc[:at]), *cc[at:])
    program = shutil.which(cc[0], path=path) or cc[0]
    return (os.path.realpath(program), *cc[1:])


def tool_identity(command: str, path: str | None) -> tuple[str, ...]:
    """:func:`_identity` of a tool variable's value (``AR``, ``NM``...); () when it is unset."""
    words = tuple(shlex.split(command))
    return _identity(words, path) if words else ()


@functools.cache
def _zig_version(zig: tuple[str, ...]) -> str:
    """``zig version`` (e.g. ``0.17.1``): the bundled clang's --version line alone does not pin the zig release."""
    return _run([*zig, "version"]).strip()


MSVC_DRIVERS = frozenset({"cl", "clang-cl"})
"""Compilers that know neither ``--version`` nor ``-dumpmachine`` (upstream's Windows CI uses ``CC=cl``)."""

MSVC_ARCH = {"x64": "x86_64", "arm64": "aarch64", "x86": "i686"}
"""``VSCMD_ARG_TGT_ARCH`` (set by the Visual Studio developer shell) -> our arch names."""


def _msvc(cc: tuple[str, ...], env: dict[str, str]) -> tuple[str, str]:
    """cl prints its banner (the version) on stderr when run alone; the target comes from the VS shell."""
    try:
        proc = subprocess.run(list(cc), capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ToolchainError(f"CC={shlex.join(cc)}: cannot run the MSVC compiler ({exc.strerror});"
                             " run from a Visual Studio developer shell") from None
    banner = (proc.stderr or proc.stdout).strip().splitlines()
    arch = env.get("VSCMD_ARG_TGT_ARCH", "").lower()
    if arch not in MSVC_ARCH:
        raise ToolchainError(f"VSCMD_ARG_TGT_ARCH={arch or '(unset)'}: cannot tell what CC={cc[0]} targets;"
                             f" run from a Visual Studio developer shell for one of {', '.join(MSVC_ARCH)}")
    return (banner[0] if banner else cc[0]), f"{MSVC_ARCH[arch]}-pc-windows-msvc"
