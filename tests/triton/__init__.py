"""Triton mode: the front against real tritonserver processes from PyTriton's wheel."""
