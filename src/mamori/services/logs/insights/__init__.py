"""Logs Insights query language.

  lexer.py     tokens (with their offsets) of a query string
  parser.py    commands and expressions -> AST (dataclasses), MalformedQuery on bad input
  compiler.py  AST -> one DuckDB SELECT over `log_events` (field discovery, JSON values,
               statistics included); `pattern`/`diff` (and `anomaly`) split into input SQL + post SQL
  clusters.py  the deterministic clustering behind `pattern` and `diff`
  anomalies.py the deterministic statistical model behind `anomaly` (after `pattern`)
The operations (StartQuery, GetQueryResults, ...) and the run of a query are in
services/logs/queries.py.
"""
