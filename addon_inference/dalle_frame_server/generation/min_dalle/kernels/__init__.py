"""The fast backends' building blocks: attention, projections, int8 arithmetic, step runners."""
