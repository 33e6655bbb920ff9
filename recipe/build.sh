#!/usr/bin/env bash
# Library output: the project's own builder (the one the wheels use) builds or reuses
# jemalloc and installs it into $PREFIX. No configure flag is spelled here. The source
# is our sdist: the builder finds the pinned tarball and its configure bundled in it.
set -euxo pipefail
python -m jemalloc_build install --prefix "$PREFIX" --variant "$JEMALLOC_VARIANT"
# conda collects license files from the work folder.
cp "$PREFIX/share/jemalloc-sys/COPYING.jemalloc" "$SRC_DIR/COPYING.jemalloc"
