"""Validate ``malloc_conf`` strings against the options jemalloc itself parses.

jemalloc only warns, at every process start, about an option it does not know.
We read the option names from the pinned source's option parser (``src/conf.c``
in 5.3.1, ``src/jemalloc.c`` before) so a typo fails the build instead.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from jemalloc_sys import _names

from .errors import SettingError

_PATTERNS = (
    re.compile(r'CONF_HANDLE_[A-Z0-9_]+\(\s*[^,"]+?,\s*"(\w+)"'),
    re.compile(r'CONF_MATCH\(\s*"(\w+)"\s*\)'),
    re.compile(r'strncmp\(\s*"(\w+)"\s*,\s*k\s*,\s*klen\s*\)'),
)
_PAIR = re.compile(_names.CONF_PAIR)


def known_options(tree: Path) -> frozenset[str]:
    """Option names accepted by the option parser of the jemalloc tree at ``tree``."""
    for candidate in ("src/conf.c", "src/jemalloc.c"):
        path = tree / candidate
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if "CONF_HANDLE_BOOL(" in text and "conf_next" in text:
                names: set[str] = set()
                for pattern in _PATTERNS:
                    names.update(pattern.findall(text))
                if names:
                    return frozenset(names)
    raise SettingError(f"cannot find jemalloc's option parser under {tree}; is this a jemalloc source tree?")


def split(conf: str) -> list[tuple[str, str]]:
    """Split ``k:v,k:v`` into pairs, rejecting anything jemalloc would not parse."""
    pairs = []
    for item in conf.split(","):
        if not _PAIR.match(item):
            raise SettingError(
                f"JEMALLOC_SYS_WITH_MALLOC_CONF: {item!r} is not a key:value pair;"
                " write options as key:value separated by commas, e.g. 'background_thread:true,narenas:4'"
            )
        key, _, value = item.partition(":")
        pairs.append((key, value))
    return pairs


def validate(conf: str, known: frozenset[str]) -> None:
    for key, _ in split(conf):
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SettingError(
                f"JEMALLOC_SYS_WITH_MALLOC_CONF: jemalloc has no option {key!r}; {hint}"
                "see the 'opt.*' list in jemalloc's manual (`man jemalloc`, TUNING.md)"
            )


def join(*parts: str) -> str:
    """Comma-join non-empty fragments, the crate's way of combining malloc_conf sources."""
    return ",".join(p for p in parts if p)
