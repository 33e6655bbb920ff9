#!/usr/bin/env bash
# Recipe test for libjemalloc-sys: compile tests/alloc.c through the installed pkg-config file,
# run it, and check that jemalloc's own answers match the features the .pc file records.
set -euo pipefail
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
flags=$(pkg-config --cflags --libs jemalloc-sys)
echo "pkg-config jemalloc-sys: $flags"
${CC:-cc} tests/alloc.c $flags -Wl,-rpath,"$PREFIX/lib" -o alloc
./alloc | tee alloc.out
grep -q '^allocated through jemalloc 5\.3\.1-' alloc.out
features=",$(pkg-config --variable=features jemalloc-sys),"
for feature in prof:profiling stats:stats debug:debug; do
  want=0
  [[ "$features" == *",${feature#*:},"* ]] && want=1
  grep -qx "config.${feature%%:*}=$want" alloc.out || { echo "config.${feature%%:*} is not $want (features$features)"; exit 1; }
done
echo "libjemalloc-sys: OK"
