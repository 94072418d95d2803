"""Repository checks: the shape of the code itself."""
