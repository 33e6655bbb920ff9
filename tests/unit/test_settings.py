"""Settings: one declaration, the resolution chain, and the docs table derived from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from jemalloc_build import settings
from jemalloc_build.errors import SettingError

ROOT = Path(__file__).resolve().parents[2]


def test_env_beats_config_settings() -> None:
    s = settings.resolve(environ={"JEMALLOC_SYS_WITH_LG_PAGE": "14"}, config_settings={"with-lg-page": "16"})
    assert s.with_lg_page == 14


def test_config_settings_are_used_without_env() -> None:
    s = settings.resolve(environ={}, config_settings={"features": "profiling,stats", "with-lg-quantum": "3"})
    assert s.features == ("profiling", "stats")
    assert s.with_lg_quantum == 3


def test_target_specific_env_beats_plain_env() -> None:
    env = {"X86_64_LINUX_GNU_JEMALLOC_SYS_WITH_LG_PAGE": "16", "JEMALLOC_SYS_WITH_LG_PAGE": "12"}
    assert settings.resolve(environ=env, target_prefix="X86_64_LINUX_GNU").with_lg_page == 16
    assert settings.resolve(environ=env, target_prefix="AARCH64_LINUX_GNU").with_lg_page == 12


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JEMALLOC_SYS_WITH_LG_PAGE", "abc", r"JEMALLOC_SYS_WITH_LG_PAGE='abc' is not an integer; use a whole number from 12 to 16"),
        ("JEMALLOC_SYS_WITH_LG_PAGE", "20", r"JEMALLOC_SYS_WITH_LG_PAGE=20 is out of range; accepted: 12 to 16"),
        ("JEMALLOC_SYS_WITH_LG_QUANTUM", "1", r"out of range; accepted: 3 to 7"),
        ("JEMALLOC_SYS_WITH_LG_VADDR", "99", r"accepted: 32 to 64"),
        ("JEMALLOC_SYS_NUM_JOBS", "0", r"JEMALLOC_SYS_NUM_JOBS=0 is out of range"),
        ("JEMALLOC_SYS_RUN_JEMALLOC_TESTS", "maybe", r"not a boolean"),
    ],
)
def test_bad_values_name_the_input_and_the_accepted_range(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        settings.resolve(environ={name: value})


def test_unknown_config_setting_suggests_a_fix() -> None:
    with pytest.raises(SettingError, match=r"config setting 'featurs' is unknown \(did you mean 'features'\?\)"):
        settings.resolve(environ={}, config_settings={"featurs": "stats"})


def test_every_env_var_is_named_after_its_configure_flag() -> None:
    for f in settings.setting_fields():
        flag = f.metadata["configure"]
        if flag:
            assert f.metadata["env"] == "JEMALLOC_SYS_" + flag.removeprefix("--").replace("-", "_").upper()


def test_the_docs_render_the_table_from_the_declarations() -> None:
    """The building page asks the docs hook for the table, which renders it from the declarations."""
    import importlib.util

    page = (ROOT / "docs" / "building.md").read_text(encoding="utf-8")
    assert "\n<!-- generated: settings -->\n" in page
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    assert settings.settings_table_markdown() in hooks.render(page)
    for f in settings.setting_fields():
        assert f"`{f.metadata['env']}`" in hooks.render(page)

