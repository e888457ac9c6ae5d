"""mamori: a local AWS security & operations cloud.

One process that speaks the real AWS wire protocols. See ARCHITECTURE.md for the map:
gateway (the request pipeline), protocol (wire formats driven by botocore models),
policy (the IAM language), store (SQLite resources + DuckDB telemetry), services.
"""

__version__ = "0.1.0"
