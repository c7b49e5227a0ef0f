"""A throwaway Redis server (Debian's `redis-server`) for tests and benchmarks, TLS on as in AWS.

Like ElastiCache with in-transit encryption and RBAC, it listens only on a TLS port (plaintext is
off), presents a certificate from a CA made for this run (`ca_file`; the client verifies it and the
host name), switches the `default` user off, and has the app user with the stack's access string
(components/cache.py `APP_ACCESS_STRING`). The app user takes any password (`nopass`), so the
client's real IAM token path (a SigV4-signed token as the password) runs unchanged: only the
token's check by IAM is ElastiCache's. An `admin` user (password `admin_password`) lets tests look
inside and stop the server.

    with RedisServer(Path("/tmp/shop-redis-123"), app_user="cache-app") as server:
        server.port, server.ca_file
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any


class RedisUnavailable(RuntimeError):
    """redis-server is missing or did not start; the message says what to do."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unreachable_cache_client() -> Any:
    """The app's own cache client (shop.cache.connect: its timeouts and retries) aimed at a local
    port nothing listens on, so a test of "the cache is down" waits no longer than the app would."""
    from dataclasses import replace

    from shop.cache import connect
    from shop.settings import Settings

    settings = replace(Settings.from_env(), cache_host="127.0.0.1", cache_port=free_port(), cache_tls=False,
                       cache_user="")
    return connect(settings)


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost, valid for a day: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("shop test CA")).issuer_name(name("shop test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(
              digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
              key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
              decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class RedisServer:
    def __init__(self, directory: Path, *, app_user: str, access_string: str | None = None,
                 port: int = 0) -> None:
        from components.cache import APP_ACCESS_STRING

        self.directory = directory
        self.app_user = app_user
        self.access_string = access_string or APP_ACCESS_STRING
        self.admin_password = secrets.token_hex(16)
        self.port = port
        """The TLS port; 0 picks a free one at start."""
        self.ca_file = directory / "ca.pem"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server not found: `make test` installs the redis-server package "
                                   "(scripts/install-system-packages.sh)")
        self.directory.mkdir(mode=0o700)
        _, cert, key = _certificates(self.directory)
        users = self.directory / "users.acl"
        users.write_text("user default off\n"
                         f"user admin on >{self.admin_password} ~* &* +@all\n"
                         f"user {self.app_user} on nopass {self.access_string}\n")
        self.port = self.port or free_port()
        config = self.directory / "redis.conf"
        config.write_text("\n".join([
            "bind 127.0.0.1", "port 0", f"tls-port {self.port}", f"tls-cert-file {cert}",
            f"tls-key-file {key}", f"tls-ca-cert-file {self.ca_file}", "tls-auth-clients no",
            f"aclfile {users}", 'save ""', "appendonly no", f"dir {self.directory}",
            "daemonize no", "loglevel warning", "maxclients 1000", ""]))
        log = (self.directory / "server.log").open("wb")
        self._process = subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.admin().ping()
                return self
            except Exception as error:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    tail = (self.directory / "server.log").read_text()[-2000:]
                    raise RedisUnavailable(f"redis-server did not start ({error}): {tail}") from error
                time.sleep(0.02)

    def client(self, *, username: str | None = None, password: str | None = None, **options: Any) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, ssl=True, ssl_ca_certs=str(self.ca_file),
                           ssl_cert_reqs="required", username=username, password=password,
                           socket_timeout=5, **options)

    def admin(self) -> Any:
        return self.client(username="admin", password=self.admin_password)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def environment(server: RedisServer, cache_name: str = "shop-cache") -> dict[str, str]:
    """The variables the stack gives the storefront, pointing at this server."""
    return {"CACHE_HOST": "127.0.0.1", "CACHE_PORT": str(server.port), "CACHE_USER": server.app_user,
            "CACHE_NAME": cache_name, "CACHE_TLS": "true", "CACHE_CA_FILE": str(server.ca_file)}


__all__ = ["RedisServer", "RedisUnavailable", "environment", "free_port"]
