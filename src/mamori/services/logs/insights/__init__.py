"""Logs Insights query language.

  lexer.py     tokens (with their offsets) of a query string
  parser.py    commands and expressions -> AST (dataclasses), MalformedQuery on bad input
  compiler.py  AST -> one DuckDB SELECT over `log_events` (field discovery included)
"""
