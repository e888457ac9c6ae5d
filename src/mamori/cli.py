"""`mamori` command line.

    mamori serve [--host 127.0.0.1] [--port 4566] [--data-dir DIR | --ephemeral]
    mamori env                       export lines for AWS_ENDPOINT_URL, keys, region
    mamori clock show|freeze|advance DURATION|resume|reset
    mamori reset                     forget all state of a running server
    mamori explain REQUEST_ID        the authorization decisions of a recent request
    mamori coverage                  operations implemented / in the model, per service

The commands that talk to a running server sign their requests with the root
credentials (the admin API accepts nothing else).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from mamori.config import Config


def _add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account-id", help="default account id (env MAMORI_ACCOUNT_ID, default 000000000000)")
    p.add_argument("--access-key-id", help="root access key id (env MAMORI_ROOT_ACCESS_KEY_ID, default test)")
    p.add_argument("--secret-access-key", help="root secret key (env MAMORI_ROOT_SECRET_ACCESS_KEY, default test)")
    p.add_argument("--region", help="default region (env MAMORI_REGION, default us-east-1)")


def _config(args: argparse.Namespace) -> Config:
    cfg = Config()
    for attr, flag in (
        ("account_id", "account_id"),
        ("root_access_key_id", "access_key_id"),
        ("root_secret_access_key", "secret_access_key"),
        ("region", "region"),
        ("host", "host"),
        ("port", "port"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            setattr(cfg, attr, value)
    if getattr(args, "data_dir", None):
        from pathlib import Path

        cfg.data_dir = Path(args.data_dir)
    if getattr(args, "ephemeral", False):
        cfg.ephemeral = True
    return cfg


def env_lines(cfg: Config) -> list[str]:
    return [
        f"export AWS_ENDPOINT_URL={cfg.endpoint}",
        f"export AWS_ACCESS_KEY_ID={cfg.root_access_key_id}",
        f"export AWS_SECRET_ACCESS_KEY={cfg.root_secret_access_key}",
        f"export AWS_DEFAULT_REGION={cfg.region}",
        f"export AWS_REGION={cfg.region}",
    ]


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from mamori.app import MamoriApp

    cfg = _config(args)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    where = "in memory (ephemeral)" if cfg.ephemeral else str(cfg.resolved_data_dir())
    print(f"mamori {_version()} listening on {cfg.endpoint}", flush=True)
    print(f"state: {where}", flush=True)
    print(f"account {cfg.account_id}, root credentials {cfg.root_access_key_id} / {cfg.root_secret_access_key}", flush=True)
    print("\n".join(env_lines(cfg)), flush=True)
    kwargs: dict[str, Any] = {"access_log": False, "log_level": "info" if args.verbose else "warning", "lifespan": "on"}
    try:
        import httptools  # noqa: F401

        kwargs["http"] = "httptools"
    except ImportError:  # pragma: no cover
        pass
    try:
        import uvloop  # noqa: F401

        kwargs["loop"] = "uvloop"
    except ImportError:  # pragma: no cover
        pass
    # uvicorn handles SIGINT/SIGTERM: it stops accepting, finishes in-flight requests
    # and runs the lifespan shutdown, which flushes and closes the stores. Then it
    # re-raises the signal under the handlers it found; ours make that a clean exit.
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    uvicorn.run(MamoriApp(cfg), host=cfg.host, port=cfg.port, **kwargs)
    return 0


def _version() -> str:
    from mamori import __version__

    return __version__


def admin_call(cfg: Config, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A root-signed call to the admin API of a running server."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    endpoint = os.environ.get("MAMORI_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL") or cfg.endpoint
    url = endpoint.rstrip("/") + "/_mamori/" + path.lstrip("/")
    data = json.dumps(body).encode() if body is not None else None
    req = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(cfg.root_access_key_id, cfg.root_secret_access_key), "mamori", cfg.region).add_auth(req)
    prepared = req.prepare()
    http_req = urllib.request.Request(url, data=data, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(http_req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise SystemExit(f"mamori: {exc.code} {detail}") from None
    except urllib.error.URLError as exc:
        raise SystemExit(f"mamori: no server at {endpoint} ({exc.reason})") from None


def cmd_env(args: argparse.Namespace) -> int:
    print("\n".join(env_lines(_config(args))))
    return 0


def cmd_clock(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.action == "show":
        state = admin_call(cfg, "GET", "clock")
    elif args.action == "advance":
        if not args.duration:
            raise SystemExit("mamori clock advance needs a duration, e.g. 1h, 30m, 2d")
        state = admin_call(cfg, "POST", "clock", {"action": "advance", "duration": args.duration})
    else:
        state = admin_call(cfg, "POST", "clock", {"action": args.action})
    print(f"{state['now']}{' (frozen)' if state['frozen'] else ''}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    admin_call(_config(args), "POST", "reset", {})
    print("reset")
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    doc = admin_call(_config(args), "GET", "mail")
    for m in doc.get("mail", []):
        if args.address and m.get("to", "").lower() != args.address.lower():
            continue
        print(f"To: {m.get('to')}\nSubject: {m.get('subject')}\n\n{m.get('body')}\n")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    doc = admin_call(_config(args), "GET", f"explain/{args.request_id}")
    print(f"request {doc['requestId']}: {doc['service']}:{doc['operation']} by {doc['principal']}")
    for decision in doc["decisions"]:
        verdict = "ALLOWED" if decision["allowed"] else "DENIED"
        print(f"  {verdict} ({decision['kind']}) {decision['action']} on {decision['resource']}")
        for reason in decision["reasons"]:
            print(f"    - {json.dumps(reason, sort_keys=True)}")
    return 0


def coverage_rows() -> list[tuple[str, int, int]]:
    """(service, implemented, in model) from the providers themselves."""
    from mamori.services.base import discover

    rows = []
    for name, cls in sorted(discover().items()):
        provider = cls.__new__(cls)  # no runtime needed to list handlers
        implemented = provider.implemented_operations()
        rows.append((name, len(implemented), len(provider.model.operation_names)))
    return rows


def coverage_table() -> str:
    lines = ["| service | implemented | in the model |", "| --- | ---: | ---: |"]
    for name, done, total in coverage_rows():
        lines.append(f"| {name} | {done} | {total} |")
    return "\n".join(lines)


def cmd_coverage(args: argparse.Namespace) -> int:
    print(coverage_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mamori", description="A local AWS security & operations cloud.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 4566)")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--data-dir", help="keep state in DIR across restarts")
    where.add_argument("--ephemeral", action="store_true", help="keep all state in memory")
    serve.add_argument("-v", "--verbose", action="store_true")
    _add_server_flags(serve)
    serve.set_defaults(func=cmd_serve)

    env = sub.add_parser("env", help="print export lines for AWS_ENDPOINT_URL, keys and region")
    env.add_argument("--port", type=int)
    _add_server_flags(env)
    env.set_defaults(func=cmd_env)

    clock = sub.add_parser("clock", help="show or steer the clock of a running server")
    clock.add_argument("action", choices=["show", "freeze", "advance", "resume", "reset"])
    clock.add_argument("duration", nargs="?", help="for advance: 90, 45s, 10m, 1h30m, 2d")
    clock.add_argument("--port", type=int)
    _add_server_flags(clock)
    clock.set_defaults(func=cmd_clock)

    reset = sub.add_parser("reset", help="forget all state of a running server")
    reset.add_argument("--port", type=int)
    _add_server_flags(reset)
    reset.set_defaults(func=cmd_reset)

    explain = sub.add_parser("explain", help="why a recent request was allowed or denied")
    explain.add_argument("request_id")
    _add_server_flags(explain)
    explain.set_defaults(func=cmd_explain)

    mail = sub.add_parser("mail", help="the local mailbox of SNS email subscriptions")
    mail.add_argument("address", nargs="?")
    mail.add_argument("--port", type=int)
    _add_server_flags(mail)
    mail.set_defaults(func=cmd_mail)

    coverage = sub.add_parser("coverage", help="operations implemented per service")
    coverage.set_defaults(func=cmd_coverage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
