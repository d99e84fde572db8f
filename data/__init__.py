"""Bundled data files (lexicons, patterns, coefficients) read with importlib.resources."""
