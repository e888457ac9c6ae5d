"""CloudWatch benchmark: PutMetricData throughput beside moto, GetMetricData over a
million data points. One run, both servers started fresh (bench/run.py's helpers).

    python bench/cloudwatch_bench.py [--calls 2000] [--days 14] [--per-minute 5]

- PutMetricData with 20 datums (one boto3 client, one thread): ops/s, p50, p99, for
  moto's server and mamori (`serve --ephemeral`), and the ratio.
- GetMetricData over 10 metrics at 1-minute resolution: `--days` days of minutes, each
  minute `--per-minute` raw values (a Values array), so 10 x 14 x 1,440 x 5 = 1,008,000
  stored data points by default (PutMetricData accepts two weeks of history, so the
  million points are 5 samples a minute, not 69 days of one). Loaded through
  PutMetricData, then 10 MetricStat queries (Sum, Average, Maximum, p99...) over the
  whole range at Period 3600, 300 and 60 (two pages: 201,600 points is over the 100,800
  a call returns); medians of 5 runs, the server's answer time apart from boto3's total.

Numbers go to bench/RESULTS.md by hand. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, measure, server  # noqa: E402


def datums(i: int) -> list[dict]:
    return [{"MetricName": f"m{k}", "Dimensions": [{"Name": "Host", "Value": f"h{k % 4}"}], "Value": float(i + k),
             "Unit": "Count"} for k in range(20)]


def put_throughput(endpoint: str, calls: int) -> dict[str, float]:
    cw = client(endpoint, "cloudwatch")
    counter = iter(range(10 ** 9))
    return measure(lambda: cw.put_metric_data(Namespace="Bench/Put", MetricData=datums(next(counter))), calls)


def load_million(endpoint: str, days: int, per_minute: int) -> tuple[int, float, float]:
    cw = client(endpoint, "cloudwatch")
    now = int(time.time()) // 60 * 60
    start = now - days * 86400 + 3600  # inside PutMetricData's two weeks
    minutes = (now - start) // 60
    values = [float(v) for v in range(1, per_minute + 1)]
    total = 0
    t0 = time.perf_counter()
    for k in range(10):
        batch = []
        for m in range(minutes):
            batch.append({"MetricName": "load", "Dimensions": [{"Name": "Node", "Value": f"n{k}"}],
                          "Timestamp": start + m * 60, "Values": [v + (m % 7) for v in values]})
            if len(batch) == 1000:
                cw.put_metric_data(Namespace="Bench/Million", MetricData=batch)
                total += len(batch) * per_minute
                batch = []
        if batch:
            cw.put_metric_data(Namespace="Bench/Million", MetricData=batch)
            total += len(batch) * per_minute
    return total, time.perf_counter() - t0, float(start)


class WireTimer:
    """Times each call's HTTP exchange: from botocore's `before-send` (the request is
    built and signed) to `before-parse` (the whole response body has been read), i.e.
    how long the server takes to answer, without boto3 building the request or
    decoding the answer (which, for 40,000 points, takes longer than the server)."""

    def __init__(self, cw) -> None:
        self.started = 0.0
        self.last = 0.0
        cw.meta.events.register("before-send.cloudwatch.*", self._sent)
        cw.meta.events.register("before-parse.cloudwatch.*", self._read)

    def _sent(self, **_kw) -> None:
        self.started = time.perf_counter()

    def _read(self, **_kw) -> None:
        self.last = time.perf_counter() - self.started


def query_million(endpoint: str, start: float, period: int, runs: int = 5) -> dict[str, float]:
    """Medians over `runs` of: the first page (server answer time and boto3 total) and
    every page (GetMetricData returns at most 100,800 points a call; Period 60 over two
    weeks of 10 metrics is 201,600 points, two pages)."""
    cw = client(endpoint, "cloudwatch")
    timer = WireTimer(cw)
    stats = ["Sum", "Average", "Maximum", "Minimum", "SampleCount", "Sum", "Average", "Maximum", "p99", "p50"]
    queries = [{"Id": f"q{k}", "MetricStat": {"Metric": {"Namespace": "Bench/Million", "MetricName": "load",
                                                        "Dimensions": [{"Name": "Node", "Value": f"n{k}"}]},
                                             "Period": period, "Stat": stats[k]}} for k in range(10)]
    end = datetime.now(timezone.utc)
    begin = datetime.fromtimestamp(start, timezone.utc)
    first_wire, first_total, all_wire, all_total = [], [], [], []
    points = pages = 0
    for _ in range(runs):
        token, wire, total, points, pages = None, 0.0, 0.0, 0, 0
        while True:
            kwargs = {"NextToken": token} if token else {}
            t0 = time.perf_counter()
            out = cw.get_metric_data(MetricDataQueries=queries, StartTime=begin, EndTime=end, **kwargs)
            took = time.perf_counter() - t0
            if not pages:
                first_wire.append(timer.last)
                first_total.append(took)
            wire += timer.last
            total += took
            pages += 1
            points += sum(len(r["Values"]) for r in out["MetricDataResults"])
            token = out.get("NextToken")
            if not token:
                break
        all_wire.append(wire)
        all_total.append(total)
    med = statistics.median
    return {"first_wire": med(first_wire), "first_total": med(first_total), "all_wire": med(all_wire),
            "all_total": med(all_total), "points": points, "pages": pages}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--per-minute", type=int, default=5)
    parser.add_argument("--no-moto", action="store_true", help="mamori alone (no ratio): for trying changes")
    args = parser.parse_args()

    rows = {}
    queries = {}
    for kind in ("mamori",) if args.no_moto else ("moto", "mamori"):
        with server(kind) as (endpoint, _startup, _proc):
            rows[kind] = put_throughput(endpoint, args.calls)
            if kind == "mamori":
                stored, load_s, start = load_million(endpoint, args.days, args.per_minute)
                for period in (3600, 300, 60):
                    queries[period] = query_million(endpoint, start, period)

    print(f"# cloudwatch bench, {time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print()
    print("| target | operation | ops/s | p50 ms | p99 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    for kind, m in rows.items():
        print(f"| {kind} | PutMetricData (20 datums) | {m['ops']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} |")
    print()
    if "moto" in rows:
        print(f"- PutMetricData: mamori / moto = {rows['mamori']['ops'] / rows['moto']['ops']:.2f}x by ops/s, "
              f"{rows['moto']['p50_ms'] / rows['mamori']['p50_ms']:.2f}x by median latency (the machine's load "
              f"during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"- loaded {stored:,} data points (10 metrics, 1-minute, {args.per_minute} values a minute, "
          f"{args.days} days) through PutMetricData in {load_s:.1f} s")
    print()
    print("GetMetricData, 10 MetricStat queries over all of them (medians; 'server' = request sent to last "
          "byte of the answer read, 'boto3' = the whole client call including decoding the points):")
    print()
    print("| Period | points | pages | first page: server ms | first page: boto3 ms | all pages: server ms | all pages: boto3 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for period, q in queries.items():
        print(f"| {period} | {q['points']:,} | {q['pages']} | {q['first_wire'] * 1000:.0f} | {q['first_total'] * 1000:.0f} "
              f"| {q['all_wire'] * 1000:.0f} | {q['all_total'] * 1000:.0f} |")


if __name__ == "__main__":
    main()
