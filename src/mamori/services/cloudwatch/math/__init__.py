"""Metric math: `parser.py` (text -> AST), `evaluate.py` (AST -> values over series)."""
