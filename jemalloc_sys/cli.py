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
from .errors import JemallocError, report

Subcommand = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _configure_info(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flags", nargs="*", help="flags of `python -m jemalloc_sys` (--cflags, --libs, ...)")


def _execute_info(args: argparse.Namespace) -> int:
    return info_cli.main(list(args.flags) or ["--version"])


def _configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conf", metavar="KEY:VALUE,...", help="malloc_conf options for the child (added to MALLOC_CONF)")
    parser.add_argument("--profile", metavar="DIR", help="heap profiling: dump DIR/jeprof.<pid>.*.heap at exit;"
                        " a Python program's profile names its Python functions too")
    parser.add_argument("--no-python-frames", action="store_true",
                        help="with --profile: native frames only (no PYTHONMALLOC=malloc, no Python-frames hook)")
    parser.add_argument("--python-malloc", action="store_true",
                        help="also set PYTHONMALLOC=malloc so Python's small objects go to jemalloc")
    parser.add_argument("--service", action="store_true",
                        help="the options a long-running service wants: background threads (in fork children too),"
                             " short decay, narenas from the container's CPU quota (printed in full)")
    parser.add_argument("--arenas", metavar="auto|N",
                        help="narenas: 'auto' = 4 per CPU the process may use (cgroup quota, affinity), or a number")
    parser.add_argument("--cgroup-root", metavar="DIR", default="/sys/fs/cgroup",
                        help="where the cgroup filesystem is mounted (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the environment and options it would use, with the reasons, and exit")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")


def _execute_run(args: argparse.Namespace) -> int:
    from . import commands

    return commands.run_command(args.cmd, conf=args.conf, profile=args.profile, python_malloc=args.python_malloc,
                                service=args.service, arenas=args.arenas, cgroup_root=args.cgroup_root,
                                dry_run=args.dry_run, python_frames=not args.no_python_frames)


def _configure_preload_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--link", metavar="PATH",
                        help="also make PATH a symbolic link to it: a stable LD_PRELOAD value for a Dockerfile ENV line")


def _execute_preload_path(args: argparse.Namespace) -> int:
    from . import commands

    return commands.print_preload_path(link=args.link)


def _configure_prof(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="prof_command", required=True)
    report = sub.add_parser("report", help="top allocation sites of a .heap dump (no Perl or binutils needed)")
    report.add_argument("file", help="a jemalloc .heap dump")
    report.add_argument("--collapsed", action="store_true", help="print folded stacks for flame-graph tools")
    report.add_argument("--limit", type=int, default=20, help="rows of the table (default 20)")
    report.add_argument("--stacks", type=int, default=0, metavar="N",
                        help="print the N largest stacks in full (Python and native frames) instead of the table")
    report.add_argument("--svg", metavar="FILE", help="also write a flame graph of the profile to FILE (SVG)")


def _execute_prof(args: argparse.Namespace) -> int:
    from . import commands

    return commands.prof_report(args.file, folded=args.collapsed, limit=args.limit, stacks=args.stacks,
                                svg=args.svg)


SUBCOMMANDS: list[Subcommand] = [
    ("info", "print paths, flags and facts (same flags as `python -m jemalloc_sys`)", _configure_info, _execute_info),
    ("run", "run a command under jemalloc (LD_PRELOAD), optionally with heap profiling", _configure_run, _execute_run),
    ("preload-path", "print the path of the preload library (for LD_PRELOAD)", _configure_preload_path,
     _execute_preload_path),
    ("prof", "heap profile tools: `prof report FILE.heap [--collapsed]`", _configure_prof, _execute_prof),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jemalloc-sys", description="jemalloc for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, configure, execute in SUBCOMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(_execute=execute)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["info"]:
        # `info` forwards its flags verbatim; argparse cannot take option-like positionals.
        return info_cli.main(argv[1:] or ["--version"])
    args = parser.parse_args(argv)
    try:
        result: int = args._execute(args)
    except JemallocError as exc:
        return report(exc)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
