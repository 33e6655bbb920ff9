"""One autoconf cache per compiler setup, shared by the configure runs that can trust it.

Every jemalloc configure asks the same ~110 questions of the compiler (does this
header exist, does this builtin link, is ``madvise(MADV_FREE)`` known...), and with
zig each question is a compile and often a link: 12 s per configure, one core.
autoconf answers them from a cache file (``--cache-file``) when it has seen the same
setup before; a run of the wheel builder configures eight libraries with one
compiler, so five of them can skip the questions (4-5 s instead of 12).

An answer can be reused only where it cannot differ. The key is therefore
everything that reaches a probe: what the compiler is and its version, the target,
the configure script, ``PATH`` (cached tool paths), autoconf's *precious* variables
(``CC``, ``CFLAGS``, ``CPPFLAGS``, ``LDFLAGS``, ``LIBS``, ``CPP``: autoconf itself
refuses a cache made with other values), answers given from outside (``ac_cv_*``
variables, ``CONFIG_SITE``), and every configure argument except those
in :data:`VALUE_ONLY_OPTIONS`, which only set a value that no probe reads.
``--enable-debug`` is in the key because it drops ``-O3`` before later probes run;
``--enable-prof*`` because they add libraries. A configure's answers are shared only
once its build has passed the checks that follow configure (version, backtrace
method), and tests compare what configure writes with and without a shared cache
(docs/design.md, "Build speed").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

PRECIOUS = ("CC", "CFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS", "CPP")
"""autoconf's precious variables for a C project (``./configure --help``, "Some influential environment variables")."""

VALUE_ONLY_OPTIONS = (
    "--with-version=",
    "--with-private-namespace=",
    "--with-install-suffix=",
    "--with-jemalloc-prefix=",
    "--with-malloc-conf=",
    "--with-lg-page=",
    "--with-lg-hugepage=",
    "--with-lg-vaddr=",
    "--with-lg-quantum=",
    "--enable-stats",
    "--disable-stats",
    "--disable-initial-exec-tls",
)
"""Options that set a name, a size or a default and change no probe (jemalloc 5.3's configure.ac):
they may differ between configure runs that share a cache. Anything not listed is in the key."""

FILE_NAME = "config.cache"
"""The cache file's name next to the object folder; configure is given it by relative path so
no absolute build path reaches configure's recorded arguments."""


def key(*, args: Sequence[str], environ: Mapping[str, str], compiler: Sequence[str], compiler_version: str,
        target: str, configure_sha256: str) -> str:
    """The cache group of a configure run: runs with equal keys may share their probes' answers."""
    precious = {name: environ.get(name, "") for name in PRECIOUS}
    options = []
    for arg in args:
        name, eq, value = arg.partition("=")
        if eq and not name.startswith("-"):
            precious[name] = value  # VAR=value after the options overrides the environment for configure
        elif not arg.startswith(VALUE_ONLY_OPTIONS):
            options.append(arg)
    # Answers given from outside (a site file, ac_cv_*=... in the environment) win over a cache's and
    # end up in the cache file: a run given them must not share its file with runs that were not.
    given = {name: value for name, value in environ.items() if "_cv_" in name or name == "CONFIG_SITE"}
    material = {"compiler": list(compiler), "version": compiler_version, "target": target,
                "configure": configure_sha256, "path": environ.get("PATH", ""), "precious": precious,
                "options": options, "given": given}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:20]


def shared_file(cache_dir: Path, group: str) -> Path:
    return cache_dir / "configure-cache" / f"{group}.cache"


def seed(cache_dir: Path, group: str, dest: Path) -> bool:
    """Copy the group's shared cache to ``dest`` if there is one; True if configure will start from it."""
    shared = shared_file(cache_dir, group)
    try:
        shutil.copyfile(shared, dest)
    except FileNotFoundError:
        return False
    return True


def publish(cache_dir: Path, group: str, produced: Path) -> None:
    """Make ``produced`` the group's shared cache, atomically (a concurrent reader sees the old or the new file)."""
    if not produced.is_file():
        return
    shared = shared_file(cache_dir, group)
    shared.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{shared.name}.", dir=shared.parent)
    os.close(fd)
    try:
        shutil.copyfile(produced, tmp)
        os.replace(tmp, shared)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


REFUSAL = "and start over"
"""The end of autoconf's error when a cache file does not fit the run ("run `make distclean' and/or
`rm ../config.cache' and start over"); any other failure is configure's own and is not retried."""


def refused(configure_log: Path) -> bool:
    """True when configure stopped because the seeded cache file was inconsistent with this run."""
    try:
        return REFUSAL in configure_log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
