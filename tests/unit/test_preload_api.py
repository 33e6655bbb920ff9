"""The package-level ``jemalloc_sys.preload_env`` offers everything the runner's own function does."""

from __future__ import annotations

import inspect

import jemalloc_sys
from jemalloc_sys import preload


def test_package_level_preload_env_forwards_every_option() -> None:
    ours = inspect.signature(jemalloc_sys.preload_env).parameters
    runner = inspect.signature(preload.preload_env).parameters
    assert list(ours) == list(runner)
    assert all(ours[name].default == runner[name].default for name in runner)

