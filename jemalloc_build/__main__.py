"""``python -m jemalloc_build``: run the builder outside pip (for debugging and the conda recipe)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from . import settings as settings_mod
from .build import build_jemalloc
from .errors import BuildError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jemalloc_build", description=__doc__)
    parser.add_argument("--flavour", default="inprocess", choices=["inprocess", "preload"])
    parser.add_argument("--json", action="store_true", help="print the build record as JSON")
    parser.add_argument("--settings-table", action="store_true", help="print the README's settings table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.settings_table:
        print(settings_mod.settings_table_markdown())
        return 0
    try:
        result = build_jemalloc(settings_mod.resolve(), flavour=args.flavour)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.detail:
            print(exc.detail, file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps({"root": str(result.root), **result.record}, indent=2))
    else:
        print(result.root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
