"""Gateway benchmark: mamori beside moto's server and a canned-response ceiling, one run.

    python bench/run.py [--calls 3000] [--mixed 10000]

Measures, for each target started fresh as a subprocess on 127.0.0.1:
- startup: process start to the first answered `GetCallerIdentity`;
- `GetCallerIdentity` through boto3 (one client, one thread): ops/s, p50, p99;
- `DescribeTrails` through boto3 (mamori and moto);
- mamori's RSS after a mixed workload of N calls (identity, trails, lookups, errors).

The canned server answers every request with one fixed, valid GetCallerIdentity
response and does no other work: it is how fast boto3 itself can go on this machine.
Ratios are printed against it and against moto. Nothing here is a test: numbers go to
bench/RESULTS.md by hand, with the date and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import boto3
from botocore.config import Config

CANNED_BODY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn>"
    b"<UserId>000000000000</UserId><Account>000000000000</Account></GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)
CANNED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nx-amzn-RequestId: 01234567-89ab-cdef-0123-456789abcdef\r\n"
    b"Content-Length: " + str(len(CANNED_BODY)).encode() + b"\r\n\r\n" + CANNED_BODY
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the canned-response ceiling ---------------------------------------------------------


class _Canned(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            total = head_end + 4 + length
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            self.transport.write(CANNED_RESPONSE)


@contextmanager
def canned_server() -> Iterator[str]:
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(loop.create_server(_Canned, "127.0.0.1", port))
        ready.set()
        loop.run_forever()
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)


# -- servers under test ------------------------------------------------------------------


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def wait_first_answer(sts, port: int, started: float, proc: subprocess.Popen, timeout: float = 30) -> float:
    """Seconds from process start to the first answered call. The client is made
    beforehand (building a boto3 client is not the server's start-up), and the port is
    polled with plain TCP connects: a botocore call to a closed port costs far more
    than the 2 ms between polls and would measure the client, not the server."""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.returncode}")
        if time.perf_counter() - started > timeout:
            raise TimeoutError("server did not start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
        except OSError:
            time.sleep(0.002)
            continue
        try:
            sts.get_caller_identity()
            return time.perf_counter() - started
        except Exception:  # noqa: BLE001 - listening but not answering yet
            time.sleep(0.002)


@contextmanager
def server(kind: str) -> Iterator[tuple[str, float, subprocess.Popen]]:
    port = free_port()
    if kind == "mamori":
        cmd = [sys.executable, "-m", "mamori", "serve", "--ephemeral", "--port", str(port)]
    else:
        cmd = ["moto_server", "-p", str(port)]
    endpoint = f"http://127.0.0.1:{port}"
    sts = client(endpoint, "sts")
    sts.meta.service_model  # loaded now, not during the measurement
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        startup = wait_first_answer(sts, port, started, proc)
        yield endpoint, startup, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(call: Callable[[], object], n: int) -> dict[str, float]:
    for _ in range(min(200, n // 10)):  # warm up connections and caches
        call()
    samples = []
    t0 = time.perf_counter()
    for _ in range(n):
        s = time.perf_counter()
        call()
        samples.append(time.perf_counter() - s)
    elapsed = time.perf_counter() - t0
    samples.sort()
    return {
        "ops": n / elapsed,
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": samples[int(len(samples) * 0.99) - 1] * 1000,
    }


def compare_with_moto(title: str, run_one: Callable[[str, int], dict[str, dict[str, float]]], default_n: int) -> None:
    """A service bench's main: `run_one(kind, n)` for moto then mamori (each returns
    operation -> `measure` result), printed as one table of ratios."""
    import argparse
    import os
    import platform

    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=default_n)
    args = parser.parse_args()
    results = {kind: run_one(kind, args.n) for kind in ("moto", "mamori")}
    print(f"{title}, n={args.n}, Python {platform.python_version()}, {os.cpu_count()} cores")
    print("| operation | mamori ops/s | moto ops/s | mamori/moto | mamori p50 ms | moto p50 ms |")
    print("|---|---|---|---|---|---|")
    for op in results["mamori"]:
        m, o = results["mamori"][op], results["moto"][op]
        print(f"| {op} | {m['ops']:.0f} | {o['ops']:.0f} | {m['ops'] / o['ops']:.2f}x | {m['p50_ms']:.2f} | "
              f"{o['p50_ms']:.2f} |")


def mixed_workload(endpoint: str, n: int) -> None:
    sts, ct = client(endpoint, "sts"), client(endpoint, "cloudtrail")
    for i in range(n):
        k = i % 10
        if k < 5:
            sts.get_caller_identity()
        elif k == 5:
            ct.create_trail(Name=f"bench-{i}", S3BucketName="bench-bucket")
        elif k == 6:
            ct.describe_trails()
        elif k == 7:
            ct.lookup_events(MaxResults=5)
        elif k == 8:
            try:
                ct.get_trail(Name="no-such-trail")
            except Exception:  # noqa: BLE001 - an error answer is part of the mix
                pass
        else:
            ct.delete_trail(Name=f"bench-{i - 4}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--mixed", type=int, default=10000)
    args = parser.parse_args()

    rows: list[tuple[str, str, dict[str, float]]] = []
    with canned_server() as endpoint:
        sts = client(endpoint, "sts")
        rows.append(("canned", "GetCallerIdentity", measure(sts.get_caller_identity, args.calls)))
    startups: dict[str, float] = {}
    rss: dict[str, float] = {}
    for kind in ("moto", "mamori"):
        with server(kind) as (endpoint, startup, proc):
            startups[kind] = startup
            rss[f"{kind} idle"] = rss_mib(proc.pid)
            sts, ct = client(endpoint, "sts"), client(endpoint, "cloudtrail")
            rows.append((kind, "GetCallerIdentity", measure(sts.get_caller_identity, args.calls)))
            rows.append((kind, "DescribeTrails", measure(ct.describe_trails, args.calls // 3)))
            if kind == "mamori":
                mixed_workload(endpoint, args.mixed)
                rss[f"{kind} after {args.mixed} mixed calls"] = rss_mib(proc.pid)

    print(f"# gateway bench, {time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    print("| target | operation | ops/s | p50 ms | p99 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    for kind, op, m in rows:
        print(f"| {kind} | {op} | {m['ops']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} |")
    by = {(k, op): m["ops"] for k, op, m in rows}
    print()
    print(f"- startup to first answer: mamori {startups['mamori']:.2f} s, moto {startups['moto']:.2f} s")
    for name, value in rss.items():
        print(f"- RSS {name}: {value:.0f} MiB")
    gci = by[("mamori", "GetCallerIdentity")]
    print(f"- GetCallerIdentity: mamori / moto = {gci / by[('moto', 'GetCallerIdentity')]:.2f}x; "
          f"mamori / canned ceiling = {gci / by[('canned', 'GetCallerIdentity')]:.0%}")
    print(f"- DescribeTrails: mamori / moto = {by[('mamori', 'DescribeTrails')] / by[('moto', 'DescribeTrails')]:.2f}x")


if __name__ == "__main__":
    main()
