"""The work behind ``jemalloc-sys run``, ``preload-path`` and ``prof report``.

Each command raises :class:`~jemalloc_sys.errors.JemallocError` subclasses on
failure; :mod:`jemalloc_sys.cli` turns them into one line and an exit code
(:func:`jemalloc_sys.errors.report`), the only place that prints errors.
"""

from __future__ import annotations

import os
import shlex
import sys

from . import preload
from .errors import JemallocError, UsageError
from .prof import build_report, collapsed, format_text, read


class CommandNotFoundError(JemallocError):
    """``run``'s command does not exist (exit 127, as a shell says)."""

    exit_code = 127


class CommandNotExecutableError(JemallocError):
    """``run``'s command is not executable (exit 126, as a shell says)."""

    exit_code = 126


def run_command(cmd: list[str], *, conf: str | None = None, profile: str | None = None,
                python_malloc: bool = False) -> int:
    """Replace this process with ``cmd`` running under the preload library (exec keeps PID and signals)."""
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; usage: jemalloc-sys run [--conf K:V,...] [--profile DIR] -- CMD ARGS...")
    env = preload.preload_env(conf, profile=profile, python_malloc=python_malloc)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(cmd[0], cmd, env)
    except FileNotFoundError:
        raise CommandNotFoundError(f"command not found: {cmd[0]!r} (from: {shlex.join(cmd)})") from None
    except PermissionError:
        raise CommandNotExecutableError(f"command not executable: {cmd[0]!r}") from None
    return 0  # not reached: exec does not return


def print_preload_path() -> int:
    print(preload.preload_path())
    return 0


def prof_report(path: str, *, folded: bool = False, limit: int = 20) -> int:
    report = build_report(read(path))
    try:
        print(collapsed(report) if folded else format_text(report, limit=limit))
        sys.stdout.flush()
    except BrokenPipeError:
        # `| head` closed the pipe: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
