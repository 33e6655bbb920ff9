"""The ``jemalloc-sys`` command.

Each subcommand lives in a function pair: ``configure_<name>(parser)`` adds its
arguments and ``execute_<name>(args) -> int`` does the work through importable
functions, so the CLI stays a thin layer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import __main__ as info_cli

Subcommand = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _configure_info(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="flags of `python -m jemalloc_sys` (--cflags, --libs, ...)")


def _execute_info(args: argparse.Namespace) -> int:
    return info_cli.main(list(args.flags) or ["--version"])


SUBCOMMANDS: list[Subcommand] = [
    ("info", "print paths, flags and facts (same flags as `python -m jemalloc_sys`)", _configure_info, _execute_info),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jemalloc-sys", description="jemalloc for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, configure, execute in SUBCOMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(_execute=execute)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    result: int = args._execute(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
