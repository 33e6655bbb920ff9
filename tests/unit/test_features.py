"""The feature table and its cargo-style resolution."""

from __future__ import annotations

import pytest

from jemalloc_build import features
from jemalloc_build.errors import SettingError


def test_defaults_are_runtime_support_and_dlopen_safe_tls() -> None:
    assert features.select([]) == {"background_threads_runtime_support", "disable_initial_exec_tls"}


def test_all_crate_features_are_declared() -> None:
    crate = {"profiling", "stats", "debug", "background_threads_runtime_support", "background_threads",
             "unprefixed_malloc_on_supported_platforms", "disable_initial_exec_tls",
             "disable_cache_oblivious", "profiling_libunwind"}
    assert set(features.BY_NAME) == crate


def test_minus_drops_a_default() -> None:
    assert "disable_initial_exec_tls" not in features.select(["-disable_initial_exec_tls"])


def test_unknown_feature_suggests_the_close_one() -> None:
    with pytest.raises(SettingError, match=r"unknown feature 'profilng' \(did you mean 'profiling'\?\)"):
        features.select(["profilng"])


def test_background_threads_require_runtime_support() -> None:
    with pytest.raises(SettingError, match="requires 'background_threads_runtime_support'"):
        features.select(["background_threads", "-background_threads_runtime_support"])


def test_profiling_libunwind_requires_profiling() -> None:
    with pytest.raises(SettingError, match="requires 'profiling'"):
        features.select(["profiling_libunwind"])
