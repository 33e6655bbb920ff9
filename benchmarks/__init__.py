"""Benchmarks behind the README's performance section (``python -m benchmarks``).

Not tests: nothing here asserts. Each section measures its contenders side by
side, interleaved round by round (so a burst of load on this shared machine
hits every contender alike), and reports medians and ratios from one run.
"""
