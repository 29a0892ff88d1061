"""Triton mode: the models served by NVIDIA Triton (PyTriton) nodes, the v1 API as their front.

`serve` runs one node (the models bound as Triton models); `front` is what the normal server
uses instead of its local models when given `--triton-url`. `protocol` is what both speak.
"""
