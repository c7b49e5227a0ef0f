"""A stand-in for the ALB's side of staff sign-in: a P-256 key pair, the Region's public-key endpoint
served over HTTP (GET /<kid> answers the PEM, as public-keys.auth.elb.<region>.amazonaws.com does),
and tokens signed the way the ALB signs `x-amzn-oidc-data`: ES256, the header carrying kid, signer,
client, iss and exp, and every segment base64url-encoded WITH its `=` padding (the ALB's quirk).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ALB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188"
CLIENT_ID = "shop-admin"
ISSUER = "https://idp.example.com"
GROUPS_CLAIM = "groups"
EDITORS, VIEWERS = "shop-editors", "shop-viewers"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # padded, as the ALB sends it


class AlbStandIn:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = str(uuid.uuid4())
        self.key_requests: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                stand_in.key_requests.append(self.path)
                if self.path != f"/{stand_in.kid}":
                    self.send_error(404)
                    return
                pem = stand_in.key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-pem-file")
                self.send_header("Content-Length", str(len(pem)))
                self.end_headers()
                self.wfile.write(pem)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> AlbStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def token(self, claims: dict[str, Any] | None = None, *, key: ec.EllipticCurvePrivateKey | None = None,
              **header: Any) -> str:
        """A token as the ALB would sign it for a staff member (an editor unless `claims` says else)."""
        fields = {"alg": "ES256", "kid": self.kid, "signer": ALB_ARN, "iss": ISSUER, "client": CLIENT_ID,
                  "exp": int(time.time()) + 120, **header}
        body = {"sub": "staff-1", "email": "Editor@Example.com", GROUPS_CLAIM: [EDITORS],
                "exp": fields["exp"], "iss": ISSUER} if claims is None else claims
        signing_input = f"{b64(json.dumps(fields).encode())}.{b64(json.dumps(body).encode())}"
        der = (key or self.key).sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def verifier(self) -> Any:
        from shop.admin.identity import AlbTokenVerifier, RoleMapping

        return AlbTokenVerifier(alb_arn=ALB_ARN, client_id=CLIENT_ID, issuer=ISSUER, keys_url=self.url,
                                roles=RoleMapping(claim=GROUPS_CLAIM, editor_group=EDITORS,
                                                  viewer_group=VIEWERS))
