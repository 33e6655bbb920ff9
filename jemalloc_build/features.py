"""Cargo-style features of jemalloc-sys and what each does to the build.

One table, mirroring the Rust crate's ``build.rs``. A feature can add configure
flags, add ``malloc_conf`` entries, require other features, and it can have an
effect when it is *off* (``stats`` adds ``--disable-stats`` then, because
upstream's own default is enabled). The prefix feature is platform-dependent
and handled in :mod:`jemalloc_build.configure` with :mod:`platforms` data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import SettingError


@dataclass(frozen=True, kw_only=True)
class Feature:
    name: str
    help: str
    configure_on: tuple[str, ...] = ()
    configure_off: tuple[str, ...] = ()
    malloc_conf_on: tuple[str, ...] = ()
    malloc_conf_off: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    default: bool = False


FEATURES: tuple[Feature, ...] = (
    Feature(
        name="profiling",
        help="Heap profiling (prof.* mallctls, .heap dumps readable by jeprof).",
        configure_on=("--enable-prof",),
    ),
    Feature(
        name="profiling_libunwind",
        help="Profile backtraces with libunwind instead of libgcc (avoids the libgcc unwinder deadlock, crate #146).",
        configure_on=("--enable-prof-libunwind",),
        requires=("profiling",),
    ),
    Feature(
        name="stats",
        help="Statistics (stats.* mallctls, malloc_stats_print).",
        configure_on=("--enable-stats",),
        configure_off=("--disable-stats",),
    ),
    Feature(
        name="debug",
        help="jemalloc's assertions and debug checks (slow).",
        configure_on=("--enable-debug",),
    ),
    Feature(
        name="background_threads_runtime_support",
        help="Allow background purging threads to be enabled at run time.",
        malloc_conf_off=("background_thread:false",),
        default=True,
    ),
    Feature(
        name="background_threads",
        help="Start background purging threads by default (malloc_conf background_thread:true).",
        malloc_conf_on=("background_thread:true",),
        requires=("background_threads_runtime_support",),
    ),
    Feature(
        name="unprefixed_malloc_on_supported_platforms",
        help="Export malloc/free/... unprefixed, replacing the C allocator (not on Apple, Android, DragonFly, Windows).",
    ),
    Feature(
        name="disable_initial_exec_tls",
        help="Global-dynamic TLS so the library can be dlopen'ed (Python loads it this way; on by default here).",
        configure_on=("--disable-initial-exec-tls",),
        default=True,
    ),
    Feature(
        name="disable_cache_oblivious",
        help="Turn off cache-oblivious large-allocation placement (saves a page per large allocation).",
        configure_on=("--disable-cache-oblivious",),
    ),
)

BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
DEFAULT_FEATURES: frozenset[str] = frozenset(f.name for f in FEATURES if f.default)


def _unknown(name: str, source: str) -> SettingError:
    close = difflib.get_close_matches(name, BY_NAME, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return SettingError(
        f"{source}: unknown feature {name!r}{hint}; accepted: {', '.join(BY_NAME)}"
        " (prefix one with '-' to drop a default)"
    )


def select(spec: Iterable[str], *, source: str = "JEMALLOC_SYS_FEATURES") -> frozenset[str]:
    """Turn a feature list into the effective set, cargo-style.

    Entries add features to the defaults; ``-name`` removes a default (our
    equivalent of ``default-features = false``). Requirements are checked, not
    silently added, so that what a user asked for is what they get.
    """
    chosen = set(DEFAULT_FEATURES)
    for raw in spec:
        item = raw.strip()
        if not item:
            continue
        name = item[1:] if item.startswith("-") else item
        if name not in BY_NAME:
            raise _unknown(name, source)
        if item.startswith("-"):
            chosen.discard(name)
        else:
            chosen.add(name)
    return check_requirements(chosen, source=source)


def check_requirements(chosen: Iterable[str], *, source: str = "JEMALLOC_SYS_FEATURES") -> frozenset[str]:
    chosen = frozenset(chosen)
    for name in sorted(chosen):
        missing = [r for r in BY_NAME[name].requires if r not in chosen]
        if missing:
            raise SettingError(
                f"{source}: feature {name!r} requires {', '.join(map(repr, missing))};"
                f" add {', '.join(missing)} to the list (or drop {name})"
            )
    return chosen


def parse_list(text: str) -> list[str]:
    """Split the comma/space separated form used by env vars and config settings."""
    return [part for part in text.replace(" ", ",").split(",") if part.strip()]
