"""Benchmark of the server's min-dalle backends against stock min-dalle on the same weights.

Run: `.venvs/server/bin/python -m bench.generation_speed` (see `__main__.py` for the options).
"""
