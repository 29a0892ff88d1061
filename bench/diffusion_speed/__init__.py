"""Benchmark: the server's DiffusionGenerator against a stock diffusers pipeline call."""
