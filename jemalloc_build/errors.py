"""Build errors that a user can act on.

Each error renders as one line naming the input, what is accepted, and the fix,
so that ``pip install`` output ends with something a person can use. Distinct
exit codes let scripts tell a bad setting from a broken toolchain.
"""

from __future__ import annotations

import sys
from typing import TextIO


class BuildError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""

    exit_code = 2

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        """Extra lines (a log tail, a command) printed after the one-line message."""

    def __str__(self) -> str:
        return self.message


class SettingError(BuildError):
    """A feature, environment variable or config setting has a value we refuse."""

    exit_code = 3


class SourceError(BuildError):
    """The jemalloc source is missing, corrupt, or unsafe to extract."""

    exit_code = 4


class ToolchainError(BuildError):
    """A required program (compiler, make, autoconf) is missing or unusable."""

    exit_code = 5


class ConfigureError(BuildError):
    """jemalloc's ``configure`` failed; ``detail`` holds the command and log tail."""

    exit_code = 6


class MakeError(BuildError):
    """``make`` failed; ``detail`` holds the command and output tail."""

    exit_code = 7


class OverrideError(BuildError):
    """``JEMALLOC_OVERRIDE`` points at something that is not a usable jemalloc."""

    exit_code = 8


def report(exc: BuildError, *, stream: TextIO | None = None, prog: str = "") -> int:
    """Print ``exc`` the one way every entry point does (``error: <line>``, then its detail); return its exit code."""
    out = stream if stream is not None else sys.stderr
    print(f"{prog + ': ' if prog else ''}error: {exc}", file=out)
    if exc.detail:
        print(exc.detail, file=out)
    out.flush()
    return exc.exit_code
