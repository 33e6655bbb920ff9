"""wheel_builder's errors: the builder's hierarchy (``jemalloc_build.errors``), so one ``report`` prints them all."""

from __future__ import annotations

from jemalloc_build.errors import BuildError, ToolchainError, report

__all__ = ["BuildError", "MissingToolError", "StepError", "report"]


class StepError(BuildError):
    """A release step (sdist, wheel, repair) failed; ``detail`` holds the tail of its log."""

    exit_code = 2


class MissingToolError(ToolchainError):
    """A program wheel_builder needs is absent and could not be installed into its tool environment."""
