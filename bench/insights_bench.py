"""Logs Insights benchmark: two queries over 1,000,000 events, beside the same SQL run
directly in DuckDB and beside moto's server, one run.

    python bench/insights_bench.py [--events 1000000]

- Loads `--events` JSON events (service/level/latency, ~110 bytes, one per 3.6 ms over an
  hour) through PutLogEvents into mamori (`serve --ephemeral`) and moto's server.
- Runs `stats count(*) by bin(5m)` and
  `filter @message like /ERROR/ | stats count(*) by service`: wall time from StartQuery to
  a Complete GetQueryResults (best of 3; the client polls every 0.1 s as a boto3 script
  would), the rows, and the ratio to the same query written by hand in SQL, run directly
  on an in-memory DuckDB holding the same events in the same table (`log_events`, the
  group and the time range in the WHERE clause, as the query asks), best of 3. Also shown:
  the same SQL with DuckDB on one thread (mamori's telemetry store runs DuckDB with
  `threads = 1`), and over a bare two-column table (ts, message).
- The engine's compiled statement (statistics included) on that same DuckDB beside the
  hand-written SQL: the cost of the compiler's SQL without HTTP and polling.
- moto's answer for the same queries is recorded beside (its status, rows or error).
Numbers go to bench/RESULTS.md by hand. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, server  # noqa: E402

SERVICES = ("api", "web", "worker", "auth")
LEVELS = ("INFO", "INFO", "INFO", "WARN", "ERROR")
QUERIES = {
    "stats count(*) by bin(5m)": "SELECT floor(ts / 300000) * 300000 AS b, count(*) FROM t GROUP BY b",
    "filter @message like /ERROR/ | stats count(*) by service":
        "SELECT json_extract_string(message, '$.service') AS s, count(*) FROM t "
        "WHERE regexp_matches(message, 'ERROR') GROUP BY s",
}
GROUP_WHERE = ("account = ? AND region = ? AND list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ?")
# The same queries over the events table the engine reads: the group and the range too.
QUERIES_ON_TABLE = {
    "stats count(*) by bin(5m)":
        f"SELECT floor(ts / 300000) * 300000 AS b, count(*) FROM log_events WHERE {GROUP_WHERE} GROUP BY b",
    "filter @message like /ERROR/ | stats count(*) by service":
        "SELECT json_extract_string(message, '$.service') AS s, count(*) FROM log_events "
        f"WHERE {GROUP_WHERE} AND regexp_matches(message, 'ERROR') GROUP BY s",
}
BATCH = 8000


def events(start_ms: int, n: int) -> list[tuple[int, str]]:
    step = 3_600_000 / n
    return [(start_ms + int(i * step),
             f'{{"level":"{LEVELS[i % 5]}","service":"{SERVICES[i % 4]}","latency":{i % 997},'
             f'"msg":"request {i} handled"}}') for i in range(n)]


def load(endpoint: str, evs: list[tuple[int, str]]) -> float:
    logs = client(endpoint, "logs")
    logs.create_log_group(logGroupName="/bench/insights")
    logs.create_log_stream(logGroupName="/bench/insights", logStreamName="s")
    t0 = time.perf_counter()
    for i in range(0, len(evs), BATCH):
        logs.put_log_events(logGroupName="/bench/insights", logStreamName="s",
                            logEvents=[{"timestamp": ts, "message": m} for ts, m in evs[i:i + BATCH]])
    return time.perf_counter() - t0


def run_query(endpoint: str, query: str, start: int, end: int) -> tuple[float, dict]:
    logs = client(endpoint, "logs")
    t0 = time.perf_counter()
    qid = logs.start_query(logGroupName="/bench/insights", startTime=start, endTime=end,
                           queryString=query)["queryId"]
    while True:
        out = logs.get_query_results(queryId=qid)
        if out["status"] not in ("Scheduled", "Running"):
            return time.perf_counter() - t0, out
        time.sleep(0.1)


def best_of(call, n: int = 3) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def direct(evs: list[tuple[int, str]], start: int, end: int) -> tuple[dict, dict, dict]:
    """(hand-written SQL times over log_events, over the bare table t, the engine's compiled
    statement times), all on one in-memory DuckDB holding the rows (as t and log_events)."""
    import duckdb

    from mamori.services.logs.insights.compiler import compile_query
    from mamori.store.logs import DDL
    con = duckdb.connect()
    con.execute("CREATE TABLE t (ts BIGINT, message VARCHAR)")
    con.execute("INSERT INTO t SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[])",
                [[e[0] for e in evs], [e[1] for e in evs]])
    con.execute(DDL)
    con.execute("INSERT INTO log_events SELECT row_number() OVER (), '123456789012', 'us-east-1', "
                "'/bench/insights', 's', ts, ts, message, strlen(message) FROM t")
    params = ["123456789012", "us-east-1", ["/bench/insights"], start * 1000, end * 1000 + 999]
    hand, bare, engine, single = {}, {}, {}, {}
    for name, sql in QUERIES.items():
        bare[name] = best_of(lambda: con.execute(sql).fetchall())
        hand[name] = best_of(lambda: con.execute(QUERIES_ON_TABLE[name], params).fetchall())
        compiled = compile_query(name)
        engine[name] = best_of(lambda: con.execute(compiled.sql, params * compiled.base_refs).fetchall())
    # mamori's telemetry store runs DuckDB with one thread (store/telemetry.py): the same
    # hand-written SQL with that setting
    con.execute("SET threads = 1")
    for name in QUERIES:
        single[name] = best_of(lambda: con.execute(QUERIES_ON_TABLE[name], params).fetchall())
    return hand, bare, engine, single


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--skip-moto", action="store_true")
    args = ap.parse_args()
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - 3_700_000
    evs = events(start_ms, args.events)
    start, end = start_ms // 1000 - 1, now_ms // 1000 + 1
    sql_times, bare_times, engine_times, single_times = direct(evs, start, end)
    print(f"{args.events} events")
    for query in QUERIES:
        print(f"  {query!r}: hand-written SQL {sql_times[query]:.3f} s (bare table {bare_times[query]:.3f} s), "
              f"compiled statement with statistics {engine_times[query]:.3f} s, "
              f"ratio {engine_times[query] / sql_times[query]:.2f}x")
    kinds = ["mamori"] + ([] if args.skip_moto else ["moto"])
    for kind in kinds:
        with server(kind) as (endpoint, _, _proc):
            loaded = load(endpoint, evs)
            print(f"\n{kind}: loaded in {loaded:.1f} s")
            for query in QUERIES:
                best, out = float("inf"), None
                for _ in range(3 if kind == "mamori" else 1):
                    try:
                        # the range ends now: after the group's creation (an earlier end is refused)
                        took, out = run_query(endpoint, query, start, int(time.time()) + 1)
                    except Exception as exc:  # moto may not know a command: record it
                        took, out = float("nan"), {"status": f"error: {exc}"}
                    best = min(best, took) if took == took else took
                rows = out.get("results", [])
                line = f"  {query!r}: {best:.3f} s, status {out.get('status')}, {len(rows)} rows"
                if kind == "mamori":
                    line += (f", direct DuckDB {sql_times[query]:.3f} s, ratio {best / sql_times[query]:.2f}x "
                             f"(one DuckDB thread as the server: {single_times[query]:.3f} s, "
                             f"{best / single_times[query]:.2f}x; bare table {bare_times[query]:.3f} s, "
                             f"{best / bare_times[query]:.2f}x)")
                print(line)
                if rows and len(rows) <= 4:
                    print("    " + str([{f['field']: f['value'] for f in r} for r in rows]))


if __name__ == "__main__":
    main()
