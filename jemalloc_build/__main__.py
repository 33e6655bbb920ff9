"""``python -m jemalloc_build``: the builder outside pip (debugging, the conda recipe, scripts).

Subcommands share the settings chain of the pip build (environment variables;
there are no config settings here), so the same inputs give the same library.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping

from . import build as build_mod
from . import configure, malloc_conf, manifest, project, source
from . import settings as settings_mod
from .cache import cache_root
from .errors import BuildError, report
from .toolchain import detect


def _build(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    # The tree's own pyproject.toml is a settings source, as under pip: in a companion's
    # unpacked sdist this builds that variant.
    settings = build_mod.settings_for(environ, pyproject=project.pyproject())
    if args.flavour:
        results = {args.flavour: build_mod.build_jemalloc(settings, environ=environ, flavour=args.flavour)}
    else:
        results = build_mod.build_all(settings, environ=environ)
    if args.json:
        print(json.dumps({name: {"root": str(r.root), **r.record} for name, r in results.items()}, indent=2))
    else:
        for name, result in results.items():
            print(f"{name}: {result.library}")
    return 0


def _warm(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Prepare the source tree and zig's runtime that every build of a run shares (the wheel builder's first step)."""
    from .warm import warm

    warm(build_mod.settings_for(environ), environ=environ, report=lambda line: print(line, file=sys.stderr))
    return 0


def _plan(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Print the configure arguments a configuration produces, without building."""
    settings = build_mod.settings_for(environ)
    tc = detect(target=settings.target, environ=environ)
    mf = manifest.load()
    cache_dir = cache_root(settings.cache_dir)
    src = source.prepare(explicit=settings.source, manifest=mf, cache_dir=cache_dir, environ=environ)
    result = configure.plan(settings, target=tc.host, cross=tc.cross, manifest=mf,
                            known_options=malloc_conf.known_options(src.tree), flavour=args.flavour,
                            family=tc.family, link_stub_dir=str(cache_dir / "cross-tools" / "link-stubs"))
    print(" ".join(result.args))
    return 0


def _install(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Build (or reuse) and install library, header, pkg-config file and record into a prefix (conda's $PREFIX)."""
    from pathlib import Path

    from .prefix_install import build_and_install

    installed = build_and_install(Path(args.prefix), variant=args.variant, environ=environ)
    for path in installed.files:
        print(path)
    return 0


def _settings_table(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    print(settings_mod.settings_table_markdown())
    return 0


COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace, Mapping[str, str]], int]]] = {
    "build": ("build (or reuse) every library this platform ships; prints their paths", _build),
    "warm": ("prepare what every build shares: the source tree and, with zig, its runtime for the target", _warm),
    "plan": ("print the configure arguments for the current settings", _plan),
    "install": ("build (or reuse) and install into --prefix: lib/, include/, lib/pkgconfig/, share/", _install),
    "settings-table": ("print the table of settings the docs show", _settings_table),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jemalloc_build", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    for name, (help_text, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == "build":
            p.add_argument("--json", action="store_true", help="print the build records as JSON")
            p.add_argument("--flavour", choices=sorted(configure.FLAVOURS), default="",
                           help="build this library only (default: every library this platform ships)")
        if name == "plan":
            p.add_argument("--flavour", default="inprocess", choices=sorted(configure.FLAVOURS))
        if name == "install":
            p.add_argument("--prefix", required=True, help="the prefix to install into ($PREFIX, %%LIBRARY_PREFIX%%)")
            p.add_argument("--variant", default="", help="a variant name (base, stats, profiling, debug);"
                           " the same as JEMALLOC_SYS_BUILD_VARIANT")
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["build", *(argv or [])])
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return COMMANDS[args.command][1](args, dict(os.environ))
    except BuildError as exc:
        return report(exc)


if __name__ == "__main__":
    raise SystemExit(main())
