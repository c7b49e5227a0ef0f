"""Who is calling the admin service: the ALB-signed `x-amzn-oidc-data` token, verified here.

The ALB's listener rule for /admin/* authenticates staff with the company's OpenID Connect provider
and forwards each request with the user's claims in `x-amzn-oidc-data`: a JWT signed by the ALB
with ES256. Its header names the signing key (`kid`), the ALB that signed it (`signer`, its ARN),
the OIDC client (`client`), the issuer (`iss`) and the expiry (`exp`); the key's PEM is served at
`https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`. A request that did not come through
that ALB rule carries no such token, or one this code refuses, and is never an admin.

Known quirk: the ALB keeps base64 padding (`=`) in the token's segments, which RFC 7515 omits, and
signs the segments as sent. PyJWT verifies the signature over the segments exactly as received and
tolerates the padding when decoding, so it checks ALB tokens correctly; a library that re-encodes
the segments before verifying would reject every genuine token.

Keys never change under a `kid`, so each is fetched once and kept (a bounded cache).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

OIDC_DATA_HEADER = "x-amzn-oidc-data"
ALGORITHM = "ES256"
KEY_CACHE_SIZE = 32
CLOCK_SKEW_SECONDS = 60
_KID = re.compile(r"[A-Za-z0-9-]{1,128}")  # ALB key ids are UUIDs; nothing else reaches the URL
_MAX_TOKEN = 16 * 1024


class InvalidToken(Exception):
    """The caller is not an authenticated member of staff (the message says why, for the log)."""


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"


@dataclass(frozen=True, kw_only=True)
class Staff:
    subject: str
    email: str
    roles: frozenset[Role]

    @property
    def actor(self) -> str:
        """What the audit trail records: the address, else the IdP's subject."""
        return self.email or self.subject

    def can(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True, kw_only=True)
class RoleMapping:
    """Which claim lists the user's groups, and which groups make a viewer or an editor."""

    claim: str
    editor_group: str
    viewer_group: str

    def roles(self, claims: dict[str, Any]) -> frozenset[Role]:
        groups = set(_groups(claims.get(self.claim)))
        if self.editor_group in groups:
            return frozenset({Role.EDITOR, Role.VIEWER})
        if self.viewer_group in groups:
            return frozenset({Role.VIEWER})
        return frozenset()


def _groups(value: Any) -> Iterable[str]:
    """A groups claim as IdPs send it: a list, or one string separated by commas or spaces."""
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def region_keys_url(region: str) -> str:
    return f"https://public-keys.auth.elb.{region}.amazonaws.com"


Fetch = Callable[[str], bytes]


def _https_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (a fixed https base)
        return bytes(response.read(8192))


class AlbTokenVerifier:
    def __init__(self, *, alb_arn: str, client_id: str, issuer: str, keys_url: str, roles: RoleMapping,
                 fetch: Fetch = _https_get, clock: Callable[[], float] = time.time) -> None:
        if not alb_arn.startswith("arn:aws") or ":loadbalancer/app/" not in alb_arn:
            raise ValueError(f"ALB_ARN must be an application load balancer's ARN, got {alb_arn!r}")
        for name, value in (("OIDC_CLIENT_ID", client_id), ("OIDC_ISSUER", issuer),
                            ("ADMIN_ROLES_CLAIM", roles.claim), ("ADMIN_EDITOR_GROUP", roles.editor_group),
                            ("ADMIN_VIEWER_GROUP", roles.viewer_group)):
            if not value:
                raise ValueError(f"{name} is not set: see docs/admin.md")
        self._alb_arn = alb_arn
        self._client_id = client_id
        self._issuer = issuer
        self._keys_url = keys_url.rstrip("/")
        self._roles = roles
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._lock = threading.Lock()

    def verify(self, token: str | None) -> Staff:
        if not token:
            raise InvalidToken("no x-amzn-oidc-data header: the request did not come through the ALB's "
                               "authenticate-oidc rule")
        if len(token) > _MAX_TOKEN:
            raise InvalidToken("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"malformed token: {error}") from error
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"token algorithm {header.get('alg')!r} is not {ALGORITHM}")
        if header.get("signer") != self._alb_arn:
            raise InvalidToken("token was not signed by this service's load balancer")
        if header.get("client") != self._client_id:
            raise InvalidToken("token was issued for another OIDC client")
        if header.get("iss") != self._issuer:
            raise InvalidToken("token names another issuer")
        expires = header.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise InvalidToken("token has no expiry")
        if expires + CLOCK_SKEW_SECONDS < self._clock():
            raise InvalidToken("token has expired")
        key = self._key(header.get("kid"))
        try:
            claims = jwt.decode(token, key=key, algorithms=[ALGORITHM],
                                options={"verify_aud": False, "verify_iss": False, "verify_exp": True},
                                leeway=CLOCK_SKEW_SECONDS)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"token signature or claims are invalid: {error}") from error
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("token has no subject")
        email = claims.get("email") if isinstance(claims.get("email"), str) else ""
        return Staff(subject=subject, email=str(email).lower(), roles=self._roles.roles(claims))

    def _key(self, kid: Any) -> ec.EllipticCurvePublicKey:
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise InvalidToken("token has no valid key id")
        with self._lock:
            cached = self._keys.get(kid)
        if cached is not None:
            return cached
        try:
            pem = self._fetch(f"{self._keys_url}/{kid}")
            key = load_pem_public_key(pem)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise InvalidToken(f"no public key for key id {kid}: {error}") from error
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise InvalidToken(f"key {kid} is not a P-256 key")
        with self._lock:
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.pop(next(iter(self._keys)))
            self._keys[kid] = key
        return key
