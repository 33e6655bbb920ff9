"""A companion's pyproject.toml: what it must take from the base's (fast, no build)."""

from __future__ import annotations

from jemalloc_build import project, variants


def test_companion_sdists_carry_the_cibuildwheel_configuration() -> None:
    """cibuildwheel reads [tool.cibuildwheel] from the sdist it builds: without it a companion would be built
    for every interpreter, repaired by default commands and never smoke-tested."""
    base = project.pyproject()
    for variant in variants.VARIANTS[1:]:
        data = variants.companion_pyproject(variant, base, "1.2.3.4")
        assert data["tool"]["cibuildwheel"] == base["tool"]["cibuildwheel"], variant.name
        assert data["tool"]["jemalloc-sys"] == {"variant": variant.name}


def test_a_base_without_cibuildwheel_configuration_gives_companions_none() -> None:
    base = project.pyproject()
    bare = {**base, "tool": {k: v for k, v in base["tool"].items() if k != "cibuildwheel"}}
    data = variants.companion_pyproject(variants.get("stats"), bare, "1.2.3.4")
    assert "cibuildwheel" not in data["tool"]
