"""CloudWatch Logs benchmark: PutLogEvents ingestion beside moto's server, one run, both
servers started fresh (bench/run.py's helpers).

    python bench/logs_bench.py [--batches 200] [--batch 1000]

- PutLogEvents with batches of `--batch` events (~120-byte messages, one boto3 client,
  one thread): batches/s, events/s, p50 and p99 latency per batch, for moto's server
  and mamori (`serve --ephemeral`), and the ratio mamori / moto.
- A check that the events are there afterwards (FilterLogEvents count on mamori).

The Logs Insights part of issue 4's bench (queries over 1,000,000 events) belongs with
the Insights engine. Numbers go to bench/RESULTS.md by hand. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, measure, server  # noqa: E402

SERVICES = ("api", "web", "worker", "auth")
LEVELS = ("INFO", "INFO", "INFO", "WARN", "ERROR")


def batch(start_ms: int, n: int, offset: int) -> list[dict]:
    return [{"timestamp": start_ms + i,
             "message": f'{{"level":"{LEVELS[(offset + i) % 5]}","service":"{SERVICES[(offset + i) % 4]}",'
                        f'"latency":{(offset + i) % 997},"msg":"request {offset + i} handled by worker"}}'}
            for i in range(n)]


def ingest(endpoint: str, batches: int, size: int) -> dict[str, float]:
    logs = client(endpoint, "logs")
    logs.create_log_group(logGroupName="/bench/ingest")
    logs.create_log_stream(logGroupName="/bench/ingest", logStreamName="s")
    start = int(time.time() * 1000) - 3_600_000
    payloads = [batch(start + k * size, size, k * size) for k in range(batches + min(200, batches // 10))]
    it = iter(payloads)

    def call() -> None:
        logs.put_log_events(logGroupName="/bench/ingest", logStreamName="s", logEvents=next(it))

    m = measure(call, batches)
    m["events_per_s"] = m["ops"] * size
    return m


def count_events(endpoint: str) -> int:
    logs = client(endpoint, "logs")
    total, token = 0, None
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName="/bench/ingest", filterPattern='{ $.level = "ERROR" }', **kw)
        total += len(page["events"])
        token = page.get("nextToken")
        if not token:
            return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    rows = {}
    for kind in ("moto", "mamori"):
        with server(kind) as (endpoint, _startup, _proc):
            rows[kind] = ingest(endpoint, args.batches, args.batch)
            if kind == "mamori":
                t0 = time.perf_counter()
                errors = count_events(endpoint)
                filter_s = time.perf_counter() - t0

    print(f"# logs bench, {time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print()
    print("| target | operation | batches/s | events/s | p50 ms | p99 ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for kind, m in rows.items():
        print(f"| {kind} | PutLogEvents ({args.batch} events) | {m['ops']:.1f} | {m['events_per_s']:,.0f} | "
              f"{m['p50_ms']:.2f} | {m['p99_ms']:.2f} |")
    print()
    print(f"- PutLogEvents: mamori / moto = {rows['mamori']['ops'] / rows['moto']['ops']:.2f}x")
    print(f"- FilterLogEvents `{{ $.level = \"ERROR\" }}` over everything mamori stored: {errors:,} events "
          f"in {filter_s:.2f} s")


if __name__ == "__main__":
    main()
