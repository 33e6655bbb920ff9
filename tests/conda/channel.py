"""A local conda channel made from this machine's own tools, so rattler-build can run offline.

A real build resolves ``${{ compiler('c') }}``, ``python``, ``make``... from
conda-forge. With no network, every requirement must come from a ``file://``
channel instead; this module makes one whose packages are thin wrappers around
what the machine already has (docs/design.md, "Offline conda builds"):

- ``machine-cc_<subdir>`` (the ``c_compiler`` variant): an activation script
  that exports the machine's own ``CC``;
- ``machine-stdlib_<subdir>`` (``c_stdlib``), versioned with the machine's glibc;
- ``python``, versioned as the interpreter running the tests: ``bin/python`` runs
  that interpreter without its own site-packages (``-S``), on the environment's
  ``site-packages`` alone, so an environment sees what it installed and nothing
  else (``pip check`` in it checks that environment, not the machine);
- ``pip``, ``setuptools``, ``tomli``, ``tomli-w``: copies of the machine
  interpreter's own distributions, installed into ``site-packages`` as conda's would be;
- ``make``, ``pkg-config``, ``perl``: ``bin/`` wrappers around the machine's.

Each stand-in says what it is in its summary and build string (``machine``);
nothing here is meant to leave the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

BUILD_STRING = "machine"


@dataclass(frozen=True, kw_only=True)
class Stub:
    name: str
    version: str
    summary: str
    files: dict[str, str] = field(default_factory=dict)
    """Relative path -> text; scripts under ``bin/`` are made executable."""
    copies: dict[str, Path] = field(default_factory=dict)
    """Relative path -> a file of this machine copied there."""
    noarch: bool = False


def _wrapper(target: str) -> str:
    return f'#!/bin/sh\nexec {shlex.quote(target)} "$@"\n'


def _python_wrapper(exe: str, version: str) -> str:
    # The environment's site-packages only: -S keeps the machine interpreter's own out of sys.path.
    return (
        "#!/bin/sh\n"
        'prefix=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)\n'
        f'PYTHONPATH="$prefix/lib/python{version}/site-packages${{PYTHONPATH:+:$PYTHONPATH}}"\n'
        "export PYTHONPATH\n"
        f'exec {shlex.quote(exe)} -S "$@"\n'
    )


def _distribution_files(name: str, site: str) -> dict[str, Path]:
    """The files of the machine's installed distribution ``name``, placed under ``site`` (scripts left out)."""
    dist = importlib.metadata.distribution(name)
    copies = {}
    for entry in dist.files or []:
        source = Path(str(dist.locate_file(entry)))
        if entry.parts[0] == ".." or "__pycache__" in entry.parts or not source.is_file():
            continue
        copies[f"{site}/{entry.as_posix()}"] = source
    return copies


def _which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"{tool}: not found on PATH; install it (see ci/apt-packages.txt)")
    return path


def machine_stubs(subdir: str, *, cc: str) -> list[Stub]:
    """The stand-in packages for ``subdir`` (the machine's own platform)."""
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    libc = platform.libc_ver()[1] or "0"
    activate = f"export CC={shlex.quote(cc)}\n"
    stubs = [
        Stub(name=f"machine-cc_{subdir}", version="1.0", summary=f"stand-in compiler: exports CC={cc}",
             files={f"etc/conda/activate.d/machine-cc_{subdir}.sh": activate}),
        Stub(name=f"machine-stdlib_{subdir}", version=libc, summary=f"stand-in C library: the machine's glibc {libc}",
             files={"share/machine-stdlib/README": f"This machine's C library, glibc {libc}.\n"}),
        Stub(name="python", version=platform.python_version(),
             summary=f"stand-in python: runs {sys.executable} with this environment's site-packages",
             files={"bin/python": _python_wrapper(sys.executable, py),
                    "bin/python3": _python_wrapper(sys.executable, py),
                    f"bin/python{py}": _python_wrapper(sys.executable, py),  # noarch entry points use this name
                    f"lib/python{py}/site-packages/README.machine": "site-packages of the stand-in python\n"}),
    ]
    site = f"lib/python{py}/site-packages"
    # rattler-build's pip check runs `pip`, which must be the environment's, as conda's pip package provides it.
    scripts = {"pip": {"bin/pip": '#!/bin/sh\nexec "$(dirname -- "$0")/python" -m pip "$@"\n'}}
    for name in ("pip", "setuptools", "tomli", "tomli-w"):
        stubs.append(Stub(name=name, version=importlib.metadata.version(name), noarch=True,
                          summary=f"stand-in: a copy of the machine interpreter's own {name}",
                          files=scripts.get(name, {}), copies=_distribution_files(name, site)))
    for tool, package in (("make", "make"), ("pkg-config", "pkg-config"), ("perl", "perl")):
        target = _which(tool)
        stubs.append(Stub(name=package, version="1.0", summary=f"stand-in: runs {target}",
                          files={f"bin/{tool}": _wrapper(target)}))
    return stubs


def _assemble(stub: Stub, subdir: str, channel: Path, scratch: Path) -> Path:
    from rattler_build import assemble_package

    files_dir = scratch / f"{stub.name}-files"
    for rel, text in stub.files.items():
        path = files_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if rel.startswith("bin/"):
            path.chmod(0o755)
    for rel, source in stub.copies.items():
        path = files_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
    target = "noarch" if stub.noarch else subdir
    out = channel / target
    out.mkdir(parents=True, exist_ok=True)
    result = assemble_package(
        name=stub.name, version=stub.version, target_platform=target, build_string=BUILD_STRING,
        output_dir=out, files_dir=files_dir, summary=stub.summary, license="LicenseRef-machine-stand-in",
        noarch="generic" if stub.noarch else None, compression_level=1,
    )
    return result.path


def index(channel: Path) -> None:
    from rattler.index import index_fs

    (channel / "noarch").mkdir(parents=True, exist_ok=True)
    asyncio.run(index_fs(channel, write_zst=False, write_shards=False, force=True))


def make_channel(channel: Path, *, subdir: str, cc: str | None = None) -> list[Path]:
    """Fill ``channel`` with the machine's stand-ins for ``subdir``, index it, return the packages."""
    cc = cc or os.environ.get("CC") or "cc"
    scratch = channel.parent / f".{channel.name}-scratch"
    made = [_assemble(stub, subdir, channel, scratch) for stub in machine_stubs(subdir, cc=cc)]
    shutil.rmtree(scratch, ignore_errors=True)
    index(channel)
    return made


def variant_overrides(subdir: str) -> dict[str, list[str]]:
    """Point the recipe's compiler, stdlib and python_min at the stand-ins (what conda-forge's pinning would choose).

    The channel has one Python, this machine's, so the noarch package builds and tests with it
    rather than with the recipe's python_min.
    """
    del subdir
    return {
        "c_compiler": ["machine-cc"],
        "c_stdlib": ["machine-stdlib"],
        "c_stdlib_version": [platform.libc_ver()[1] or "0"],
        "python_min": [f"{sys.version_info.major}.{sys.version_info.minor}"],
    }
