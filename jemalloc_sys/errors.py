"""Exceptions of the runtime API: one base class, one subclass per thing that can go wrong.

mallctl reports failures as bare errno values; these classes turn each into a
message that says what happened and what to do, while keeping ``errno`` and
the mallctl ``name`` as attributes for code that wants to branch on them.
"""

from __future__ import annotations

import errno as errno_mod


class JemallocError(Exception):
    """Base class of every runtime error raised by jemalloc_sys (not the build's)."""

    exit_code = 1
    """What a command line exits with when this error ends it (:func:`report`)."""


class UsageError(JemallocError):
    """A command line that cannot be run as given (exit 2, as argparse uses)."""

    exit_code = 2


class NotBuiltError(JemallocError, RuntimeError):
    """The package has no built library (a source checkout that was never built)."""


class VariantError(JemallocError, RuntimeError):
    """``JEMALLOC_SYS_VARIANT`` names a variant that is unknown or not installed."""


class LoadError(JemallocError, OSError):
    """The library exists but cannot be loaded here; the message says why and what to do."""


class MallctlError(JemallocError, OSError):
    """A mallctl call failed; ``errno`` is jemalloc's return code and ``name`` the mallctl name."""

    def __init__(self, code: int, message: str, *, name: str = "") -> None:
        super().__init__(code, message)
        self.name = name

    def __str__(self) -> str:
        return str(self.strerror)


class UnknownNameError(MallctlError):
    """ENOENT: jemalloc has no such mallctl name (or index)."""


class FeatureMissingError(UnknownNameError):
    """ENOENT because this build left out the feature behind the name (stats, profiling...)."""

    def __init__(self, code: int, message: str, *, name: str = "", feature: str = "") -> None:
        super().__init__(code, message, name=name)
        self.feature = feature


class WrongTypeError(MallctlError):
    """EINVAL, or a Python value that does not fit the name's C type."""


class ReadOnlyError(MallctlError):
    """EPERM: the name cannot be written (or, for write-only names, read)."""


class NotUnderJemallocError(JemallocError):
    """The current process's malloc is not jemalloc, so there is no process allocator to control."""


class PreloadUnavailableError(JemallocError):
    """This installation has no preload library (not Linux, or built with JEMALLOC_OVERRIDE)."""


class ProfilingUnavailableError(JemallocError):
    """Heap profiling was asked of a library built without it."""


class HeapProfileError(JemallocError, ValueError):
    """A heap dump could not be parsed."""


ERRNO_CLASSES: dict[int, type[MallctlError]] = {
    errno_mod.ENOENT: UnknownNameError,
    errno_mod.EINVAL: WrongTypeError,
    errno_mod.EPERM: ReadOnlyError,
}


class ConfError(JemallocError, ValueError):
    """A malloc_conf string (``--conf``) that jemalloc would not parse or does not know."""


def report(exc: JemallocError, *, prog: str = "jemalloc-sys") -> int:
    """Print ``exc`` the one way every command does (``<prog>: error: <line>``); return its exit code."""
    import sys

    print(f"{prog}: error: {exc}", file=sys.stderr, flush=True)
    return exc.exit_code
