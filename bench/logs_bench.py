"""CloudWatch Logs benchmark: PutLogEvents ingestion beside moto's server, one run, both
servers started fresh (bench/run.py's helpers), the same client code for both.

    python bench/logs_bench.py [--batches 200] [--batch 1000] [--threads 1,4]

For each server and each client thread count: PutLogEvents with batches of `--batch`
events (~120-byte JSON messages), each thread with its own boto3 client (own
connection) writing its own log stream, as several shippers would:
- batches/s and events/s over the whole run, p50 and p99 latency per batch;
- the server process's CPU time per batch (user + system from /proc, over the measured
  phase): what the server itself costs, apart from the client, which on a 2-core machine
  bounds the throughput (boto3 spends ~4 ms of CPU building and signing a batch of 1,000
  events, the same for both servers).
A "canned" row first: a server that answers every request with one fixed PutLogEvents
response and does nothing else, i.e. how fast the boto3 client itself can go here (the
ceiling for any server). Then a check that the events are there (FilterLogEvents count
on mamori).

The Logs Insights part of issue 4's bench belongs with the Insights engine
(bench/insights_bench.py). Numbers go to bench/RESULTS.md by hand. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, free_port, server  # noqa: E402

SERVICES = ("api", "web", "worker", "auth")
LEVELS = ("INFO", "INFO", "INFO", "WARN", "ERROR")
GROUP = "/bench/ingest"


def batch(start_ms: int, n: int, offset: int) -> list[dict]:
    return [{"timestamp": start_ms + i,
             "message": f'{{"level":"{LEVELS[(offset + i) % 5]}","service":"{SERVICES[(offset + i) % 4]}",'
                        f'"latency":{(offset + i) % 997},"msg":"request {offset + i} handled by worker"}}'}
            for i in range(n)]


CANNED_BODY = b'{"nextSequenceToken":"49039859533790039851380816675861673084717305346360483984"}'
CANNED_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                   b"x-amzn-RequestId: 01234567-89ab-cdef-0123-456789abcdef\r\n"
                   b"Content-Length: " + str(len(CANNED_BODY)).encode() + b"\r\n\r\n" + CANNED_BODY)


def serve_canned(port: int) -> None:
    """Answer every HTTP request on 127.0.0.1:port with CANNED_RESPONSE (runs as its own
    process, so that it does not take the client's GIL)."""
    import asyncio

    class Canned(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.chunks, self.size, self.need = transport, [], 0, None

        def data_received(self, data):
            self.chunks.append(data)
            self.size += len(data)
            while True:
                buf = b"".join(self.chunks)
                if self.need is None:
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        return
                    length = 0
                    for line in buf[:end].lower().split(b"\r\n"):
                        if line.startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    self.need = end + 4 + length
                if len(buf) < self.need:
                    self.chunks = [buf]
                    return
                self.chunks, self.need = [buf[self.need:]], None
                self.transport.write(CANNED_RESPONSE)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(loop.create_server(Canned, "127.0.0.1", port))
    loop.run_forever()


@contextmanager
def canned_server() -> Iterator[tuple[str, int]]:
    import socket
    import subprocess

    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--canned-serve", str(port)])
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.01)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest(endpoint: str, pid: int, batches: int, size: int, threads: int, tag: str) -> dict[str, float]:
    """`batches` batches split over `threads` threads (own client, own stream each)."""
    setup = client(endpoint, "logs")
    start = int(time.time() * 1000) - 3_600_000
    per = batches // threads
    warm = max(2, min(20, per // 10))
    work = []
    for t in range(threads):
        stream = f"{tag}-{t}"
        setup.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        payloads = [batch(start + k * size, size, (t * (per + warm) + k) * size) for k in range(per + warm)]
        work.append((client(endpoint, "logs"), stream, payloads))
    samples: list[float] = []
    lock = threading.Lock()
    go = threading.Barrier(threads + 1)
    done = threading.Barrier(threads + 1)

    def run(logs, stream: str, payloads: list) -> None:
        for p in payloads[:warm]:  # connections and caches warm
            logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=p)
        mine = []
        go.wait()
        for p in payloads[warm:]:
            s = time.perf_counter()
            logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=p)
            mine.append(time.perf_counter() - s)
        with lock:
            samples.extend(mine)
        done.wait()

    workers = [threading.Thread(target=run, args=w) for w in work]
    for w in workers:
        w.start()
    go.wait()
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    done.wait()
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    for w in workers:
        w.join()
    samples.sort()
    n = len(samples)
    return {"ops": n / elapsed, "events_per_s": n * size / elapsed, "p50_ms": statistics.median(samples) * 1000,
            "p99_ms": samples[max(0, int(n * 0.99) - 1)] * 1000, "server_cpu_ms": cpu / n * 1000}


def presigned(endpoint: str, stream: str, payloads: list) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Each batch as the request boto3 sends (serialized and SigV4-signed by botocore),
    captured before it leaves, so that `replay` measures the server and not boto3."""
    from botocore.awsrequest import AWSResponse

    class Empty:
        def stream(self, **_kw):
            yield b"{}"

    logs = client(endpoint, "logs")
    captured: list[tuple[str, str, bytes, dict[str, str]]] = []

    def capture(request, **_kw):
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        captured.append((request.method, request.url, body, dict(request.headers)))
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, Empty())

    logs.meta.events.register("before-send.cloudwatch-logs.PutLogEvents", capture)
    for p in payloads:
        logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=p)
    return captured


def replay(endpoint: str, pid: int, batches: int, size: int, tag: str) -> dict[str, float]:
    """The presigned batches sent back to back on one keep-alive connection: the
    server's ingestion rate, with a client that costs almost nothing."""
    import http.client
    from urllib.parse import urlsplit

    setup = client(endpoint, "logs")
    stream = f"{tag}-replay"
    setup.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    start = int(time.time() * 1000) - 3_600_000
    warm = 10
    requests = presigned(endpoint, stream, [batch(start + k * size, size, k * size) for k in range(batches + warm)])
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port)

    def send(method: str, target: str, body: bytes, headers: dict[str, str]) -> None:
        conn.request(method, urlsplit(target).path or "/", body, headers)
        answer = conn.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"PutLogEvents answered {answer.status}: {data[:200]!r}")

    for r in requests[:warm]:
        send(*r)
    samples = []
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    for r in requests[warm:]:
        s = time.perf_counter()
        send(*r)
        samples.append(time.perf_counter() - s)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    conn.close()
    samples.sort()
    n = len(samples)
    return {"ops": n / elapsed, "events_per_s": n * size / elapsed, "p50_ms": statistics.median(samples) * 1000,
            "p99_ms": samples[max(0, int(n * 0.99) - 1)] * 1000, "server_cpu_ms": cpu / n * 1000}


def count_events(endpoint: str) -> int:
    logs = client(endpoint, "logs")
    total, token = 0, None
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName=GROUP, filterPattern='{ $.level = "ERROR" }', **kw)
        total += len(page["events"])
        token = page.get("nextToken")
        if not token:
            return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--threads", default="1,4", help="client thread counts, comma-separated")
    parser.add_argument("--canned-serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.canned_serve:
        serve_canned(args.canned_serve)
        return
    counts = [int(x) for x in args.threads.split(",")]

    rows: dict[tuple[str, int], dict[str, float]] = {}
    replayed: dict[str, dict[str, float]] = {}
    with canned_server() as (endpoint, pid):
        for threads in counts:
            rows[("canned", threads)] = ingest(endpoint, pid, args.batches, args.batch, threads, f"t{threads}")
    for kind in ("moto", "mamori"):
        with server(kind) as (endpoint, _startup, proc):
            client(endpoint, "logs").create_log_group(logGroupName=GROUP)
            replayed[kind] = replay(endpoint, proc.pid, args.batches, args.batch, "r")
            for threads in counts:
                rows[(kind, threads)] = ingest(endpoint, proc.pid, args.batches, args.batch, threads, f"t{threads}")
            if kind == "mamori":
                t0 = time.perf_counter()
                errors = count_events(endpoint)
                filter_s = time.perf_counter() - t0

    print(f"# logs bench, {time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print()
    print(f"PutLogEvents, {args.batch} events a batch, {args.batches} batches per row")
    print()
    print("| target | client threads | batches/s | events/s | p50 ms | p99 ms | server CPU ms/batch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (kind, threads), m in rows.items():
        print(f"| {kind} | {threads} | {m['ops']:.1f} | {m['events_per_s']:,.0f} | {m['p50_ms']:.2f} | "
              f"{m['p99_ms']:.2f} | {m['server_cpu_ms']:.2f} |")
    print()
    for threads in counts:
        mam, moto = rows[("mamori", threads)], rows[("moto", threads)]
        ceiling = rows[("canned", threads)]["ops"]
        print(f"- {threads} client thread(s): throughput mamori / moto = {mam['ops'] / moto['ops']:.2f}x "
              f"(canned ceiling / moto = {ceiling / moto['ops']:.2f}x, mamori = {mam['ops'] / ceiling:.0%} of the "
              f"ceiling); server CPU per batch moto / mamori = {moto['server_cpu_ms'] / mam['server_cpu_ms']:.2f}x")
    print()
    print("The server's ingestion rate: the same batches, serialized and signed by botocore beforehand, sent back "
          "to back on one keep-alive connection (the client costs almost nothing):")
    print()
    print("| target | batches/s | events/s | p50 ms | p99 ms | server CPU ms/batch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, m in replayed.items():
        print(f"| {kind} | {m['ops']:.1f} | {m['events_per_s']:,.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
              f"{m['server_cpu_ms']:.2f} |")
    print()
    print(f"- ingestion rate mamori / moto = {replayed['mamori']['ops'] / replayed['moto']['ops']:.2f}x")
    print(f"- FilterLogEvents `{{ $.level = \"ERROR\" }}` over everything mamori stored: {errors:,} events "
          f"in {filter_s:.2f} s")


if __name__ == "__main__":
    main()
