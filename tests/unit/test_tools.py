"""wheel_builder.tools: the tool environment the main command builds with (nothing installed here)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_without_install_a_missing_tool_environment_is_one_line_with_the_fix(tmp_path: Path) -> None:
    from wheel_builder import tools

    with pytest.raises(tools.MissingToolError) as info:
        tools.ensure(tmp_path, install=False, say=lambda line: None)
    text = str(info.value)
    assert "\n" not in text
    assert "no tool environment yet" in text and "-m wheel_builder (without --no-install)" in text
