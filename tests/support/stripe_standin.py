"""A local stand-in for the payment provider's API, driven by the real `stripe` client.

It implements the part of the PaymentIntents API that checkout uses (create, confirm, retrieve) with
the provider's idempotency semantics: a repeated Idempotency-Key with the same parameters replays the
first response (errors included), with other parameters is refused (400 idempotency_error), and while
the first request is still running is refused (409 idempotency_key_in_use). A PaymentIntent succeeds
at most once. Every successful charge is recorded in `charges`.

Faults are injected per endpoint for the next matching request(s):
- "timeout_after_charge": process the request (the card is charged), then hold the response until
  the test ends, so the client times out;
- "error_500_after_charge": process, then answer 500 (and replay 500 for that key, as the provider does);
- "error_503": answer 503 without processing;
- "hold": wait before processing until `release()` (a slow provider), signalling `holding`.
Declines come from the payment method token, as with the provider's test tokens:
`pm_card_chargeDeclined` (generic_decline), `pm_card_chargeDeclinedInsufficientFunds`.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

DECLINES = {"pm_card_chargeDeclined": "generic_decline",
            "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds"}
_CONFIRM = re.compile(r"^/v1/payment_intents/(pi_[A-Za-z0-9]+)/confirm$")
_RETRIEVE = re.compile(r"^/v1/payment_intents/(pi_[A-Za-z0-9]+)$")


@dataclass
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class StripeStandIn:
    def __init__(self, api_key: str = "sk_test_standin") -> None:
        self.api_key = api_key
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []  # (endpoint, idempotency key or "")
        self.received: list[str] = []  # every request as it arrived: request line, headers, body
        self._faults: dict[str, list[str]] = defaultdict(list)
        self._idempotency: dict[str, tuple[str, _Answer | None]] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._stopping = threading.Event()
        self.holding = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,),
                                        name="stripe-standin", daemon=True)

    # --- test controls -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def inject(self, endpoint: str, fault: str, times: int = 1) -> None:
        """Queue a fault for the next `times` requests to endpoint: create, confirm or retrieve."""
        assert endpoint in {"create", "confirm", "retrieve"}
        assert fault in {"timeout_after_charge", "error_500_after_charge", "error_503", "hold"}
        with self._lock:
            self._faults[endpoint].extend([fault] * times)

    def release(self) -> None:
        self._release.set()

    def calls_to(self, endpoint: str) -> int:
        return sum(1 for name, _ in self.calls if name == endpoint)

    def start(self) -> StripeStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # --- the API -------------------------------------------------------------------------------

    def _next_fault(self, endpoint: str) -> str | None:
        with self._lock:
            queue = self._faults[endpoint]
            return queue.pop(0) if queue else None

    def handle(self, method: str, path: str, headers: dict[str, str],  # noqa: PLR0911, PLR0912 - one answer per case
               form: list[tuple[str, str]]) -> _Answer:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return _Answer(401, _error("invalid_request_error", "Invalid API Key provided"))
        if method == "GET" and (match := _RETRIEVE.match(path)):
            self.calls.append(("retrieve", ""))
            if self._next_fault("retrieve") == "error_503":
                return _Answer(503, _error("api_error", "overloaded"), {"Stripe-Should-Retry": "true"})
            with self._lock:
                intent = self.intents.get(match.group(1))
                return _Answer(200, dict(intent)) if intent else _Answer(404, _error("invalid_request_error",
                                                                                    "No such payment_intent"))
        if method != "POST":
            return _Answer(404, _error("invalid_request_error", "Unrecognized request URL"))
        endpoint = "create" if path == "/v1/payment_intents" else "confirm" if _CONFIRM.match(path) else ""
        if not endpoint:
            return _Answer(404, _error("invalid_request_error", "Unrecognized request URL"))
        key = headers.get("idempotency-key", "")
        self.calls.append((endpoint, key))
        fault = self._next_fault(endpoint)
        if fault == "error_503":  # refused at the edge: not executed, nothing saved for the key
            return _Answer(503, _error("api_error", "overloaded"), {"Stripe-Should-Retry": "true"})
        fingerprint = json.dumps([path, sorted(form)])
        if key:
            with self._lock:
                seen = self._idempotency.get(key)
                if seen is not None:
                    first_fingerprint, answer = seen
                    if first_fingerprint != fingerprint:
                        return _Answer(400, _error("idempotency_error", "Keys for idempotent requests can "
                                                   "only be used with the same parameters they were first "
                                                   "used with."))
                    if answer is None:
                        return _Answer(409, _error("idempotency_error", "another request with this key is in "
                                                   "progress", code="idempotency_key_in_use"),
                                       {"Stripe-Should-Retry": "true"})
                    replayed = {**answer.headers, "Idempotent-Replayed": "true"}
                    return _Answer(answer.status, answer.body, replayed)
                self._idempotency[key] = (fingerprint, None)
        if fault == "hold":
            self.holding.set()
            self._release.wait(timeout=30)
        params = dict(form)
        confirming = _CONFIRM.match(path)
        answer = self._confirm(confirming.group(1)) if confirming else self._create(params)
        if fault == "error_500_after_charge":
            answer = _Answer(500, _error("api_error", "internal error"), {"Stripe-Should-Retry": "false"})
        if key:
            with self._lock:
                self._idempotency[key] = (fingerprint, answer)
        if fault == "timeout_after_charge":
            self._stopping.wait(timeout=30)  # the client gives up first
        return answer

    def _create(self, params: dict[str, str]) -> _Answer:
        amount = params.get("amount", "")
        if not amount.isdigit() or int(amount) <= 0 or not params.get("currency"):
            return _Answer(400, _error("invalid_request_error", "amount and currency are required"))
        if not params.get("payment_method", "").startswith("pm_"):
            return _Answer(400, _error("invalid_request_error", "payment_method must be a PaymentMethod id"))
        intent: dict[str, Any] = {"id": f"pi_{uuid.uuid4().hex[:24]}", "object": "payment_intent",
                                  "amount": int(amount),
                  "currency": params["currency"], "payment_method": params["payment_method"],
                  "status": "requires_confirmation", "last_payment_error": None,
                  "metadata": {k[len("metadata["):-1]: v for k, v in params.items()
                               if k.startswith("metadata[")}}
        with self._lock:
            self.intents[intent["id"]] = intent
        return _Answer(200, dict(intent))

    def _confirm(self, intent_id: str) -> _Answer:
        with self._lock:
            intent = self.intents.get(intent_id)
            if intent is None:
                return _Answer(404, _error("invalid_request_error", "No such payment_intent"))
            if intent["status"] not in {"requires_confirmation", "requires_payment_method"}:
                return _Answer(400, _error("invalid_request_error", "This PaymentIntent's status is "
                                           f"{intent['status']}", code="payment_intent_unexpected_state"))
            decline = DECLINES.get(intent["payment_method"])
            if decline:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {"type": "card_error", "code": "card_declined",
                                                "decline_code": decline}
                body = _error("card_error", "Your card was declined.", code="card_declined")
                body["error"].update(decline_code=decline, payment_intent=dict(intent))
                return _Answer(402, body)
            intent["status"] = "succeeded"
            self.charges.append({"intent_id": intent_id, "amount": intent["amount"],
                                 "currency": intent["currency"]})
            return _Answer(200, dict(intent))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
            # body until the client's delayed ACK, ~40 ms per call (bench/ measured it).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                headers = {k.lower(): v for k, v in self.headers.items()}
                api.received.append(f"{self.requestline}\n{self.headers}\n{raw}")
                answer = api.handle(self.command, self.path.split("?")[0], headers,
                                    parse_qsl(raw, keep_blank_values=True))
                payload = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away

            do_GET = _serve
            do_POST = _serve

        return Handler


def _error(kind: str, message: str, *, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return {"error": error}
