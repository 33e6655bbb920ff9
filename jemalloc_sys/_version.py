"""Our release number: jemalloc's version plus a fourth component for our own releases."""

__version__ = "5.3.1.0"
