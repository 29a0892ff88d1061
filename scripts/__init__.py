"""Scripts that run the parts together: setup, tests, the demo and its process helpers."""
