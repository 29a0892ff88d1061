"""End-to-end tests: the three parts as real processes."""
