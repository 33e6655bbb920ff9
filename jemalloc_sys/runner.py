"""The work behind ``jemalloc-sys run``, ``preload-path`` and ``prof report`` (the CLI's printing layer).

Library functions raise; these turn the errors into one-line messages and exit
codes, the only place in the runtime package that prints.
"""

from __future__ import annotations

import os
import shlex
import sys

from . import preload
from .errors import JemallocError
from .prof import build_report, collapsed, format_text, read

EXIT_USAGE = 2
EXIT_NOT_FOUND = 127


def _fail(message: str, code: int = 1) -> int:
    print(f"jemalloc-sys: error: {message}", file=sys.stderr)
    return code


def run_command(cmd: list[str], *, conf: str | None = None, profile: str | None = None,
                python_malloc: bool = False) -> int:
    """Replace this process with ``cmd`` running under the preload library (exec keeps PID and signals)."""
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        return _fail("no command given; usage: jemalloc-sys run [--conf K:V,...] [--profile DIR] -- CMD ARGS...",
                     EXIT_USAGE)
    try:
        env = preload.preload_env(conf, profile=profile, python_malloc=python_malloc)
    except JemallocError as exc:
        return _fail(str(exc))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(cmd[0], cmd, env)
    except FileNotFoundError:
        return _fail(f"command not found: {cmd[0]!r} (from: {shlex.join(cmd)})", EXIT_NOT_FOUND)
    except PermissionError:
        return _fail(f"command not executable: {cmd[0]!r}", 126)
    return 0  # not reached: exec does not return


def print_preload_path() -> int:
    try:
        print(preload.preload_path())
    except JemallocError as exc:
        return _fail(str(exc))
    return 0


def prof_report(path: str, *, collapsed: bool = False, limit: int = 20) -> int:
    try:
        report = build_report(read(path))
    except JemallocError as exc:
        return _fail(str(exc))
    try:
        print(_collapsed(report) if collapsed else format_text(report, limit=limit))
        sys.stdout.flush()
    except BrokenPipeError:
        # `| head` closed the pipe: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


_collapsed = collapsed
