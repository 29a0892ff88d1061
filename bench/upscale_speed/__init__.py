"""Benchmark of the server's upscaler (issue 18); run with `python -m bench.upscale_speed`."""
