"""``python -m wheel_builder``: every wheel of jemalloc-sys, from this checkout, into ``wheelhouse/``.

The steps are those a release takes, in order: build each variant's sdist
(the companions' too: ``jemalloc_sys_stats-<v>.tar.gz``...); build each variant's
wheel *from its own sdist* (so what is published is what the sdist reproduces);
repair it for its platform policy; verify it; install the set into a fresh
virtual environment and check each variant's library against ``mallctl``.
cibuildwheel does the same per platform on CI, from the sdists ``python -m
wheel_builder sdists`` makes, and ``python -m wheel_builder release-check``
checks the whole set before it is published; this package is the one-machine
road, and the hook for cross targets (``--target``, see ``jemalloc_build.cross``).

Not installed: like ``jemalloc_build`` it is a development tool of this repository.
"""
