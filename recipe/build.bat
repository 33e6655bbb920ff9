:: Library output on Windows: the same builder, installing into %LIBRARY_PREFIX%; the pinned
:: tarball and its configure come bundled in the sdist.
python -m jemalloc_build install --prefix "%LIBRARY_PREFIX%" --variant "%JEMALLOC_VARIANT%"
if errorlevel 1 exit 1
copy "%LIBRARY_PREFIX%\share\jemalloc-sys\COPYING.jemalloc" "%SRC_DIR%\COPYING.jemalloc"
if errorlevel 1 exit 1
