"""The checkout benchmark's servers, each in its own process (as in production, they share no GIL).

    python -m bench.services moto                 the AWS APIs (moto server): DynamoDB, EventBridge, ...
    python -m bench.services stripe --latency S   the payment stand-in, answering every call after S seconds
    python -m bench.services shop                 the order service under uvicorn (settings: environment)
    python -m bench.services storefront           the storefront under uvicorn (settings: environment)

Each prints one JSON line with its URL, then serves until its stdin closes. The stand-in also answers
a `ledger` line on stdin with one JSON line: its charges and intents (for verifying double charges).
All listen on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

APP_CODE = Path(__file__).resolve().parent.parent / "app_code"


def _announce(url: str) -> None:
    print(json.dumps({"url": url}), flush=True)


def _wait_for_eof() -> None:
    for _ in sys.stdin:
        pass


def serve_moto() -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    _announce(f"http://{host}:{port}")
    _wait_for_eof()
    server.stop()


def serve_stripe(latency: float) -> None:
    from tests.support.stripe_standin import StripeStandIn

    class SlowStandIn(StripeStandIn):
        """The stand-in with the provider's network and processing time on every call."""

        def handle(self, method: str, path: str, headers: dict[str, str], form: list[tuple[str, str]]) -> Any:
            time.sleep(latency)
            return super().handle(method, path, headers, form)

    server = SlowStandIn(api_key="sk_test_standin").start()
    _announce(server.url)
    for line in sys.stdin:
        if line.strip() == "ledger":
            with server._lock:  # the stand-in's own lock: a consistent copy
                intents = {k: {"status": v["status"], "amount": v["amount"],
                               "metadata": v.get("metadata", {})} for k, v in server.intents.items()}
                ledger = {"charges": list(server.charges), "intents": intents, "calls": len(server.calls)}
            print(json.dumps(ledger), flush=True)
    server.stop()


def serve_shop(module: str = "shop.order_service.app") -> None:
    sys.path.insert(0, str(APP_CODE))
    import importlib

    import uvicorn

    app = importlib.import_module(module).app

    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it a
    # response's headers and body (two writes) wait on the client's delayed ACK: ~40 ms per keep-alive request
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    # As in the ECS task: one uvicorn process; the ALB keeps the access log, so uvicorn does not.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, backlog=1024,
                                           timeout_graceful_shutdown=5))

    def stop_on_eof() -> None:
        _wait_for_eof()
        server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()

    def announce_when_started() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        _announce(f"http://127.0.0.1:{sock.getsockname()[1]}")

    threading.Thread(target=announce_when_started, daemon=True).start()
    server.run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.services")
    parser.add_argument("service", choices=["moto", "stripe", "shop", "storefront"])
    parser.add_argument("--latency", type=float, default=0.05, help="stand-in: seconds per provider call")
    args = parser.parse_args()
    if args.service == "moto":
        serve_moto()
    elif args.service == "stripe":
        serve_stripe(args.latency)
    elif args.service == "storefront":
        serve_shop("shop.storefront.app")
    else:
        serve_shop()


if __name__ == "__main__":
    main()
