"""A throwaway PostgreSQL server from the installed server binaries, for tests and benchmarks.

`initdb` refuses to run as root (CI runs as root), so the server runs as the `postgres` user when
this process is root. It listens only on a unix socket in its own directory, with durability off
(fsync, synchronous commit, full-page writes): a test server, never a production setting.

    with PostgresServer(Path("/tmp/shop-pg-123")) as server:
        url = server.create_database("shop")        # postgresql://postgres@/shop?host=...
        server.halt(); server.resume()              # an outage, and the server back on the same data
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType

import psycopg


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the server did not start; the message says what to do."""


def bindir() -> Path | None:
    """The folder of `initdb` and `pg_ctl`: PG_BINDIR, else the newest Debian package, else PATH."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(args[:4])}... failed: {result.stdout}{result.stderr}")


class PostgresServer:
    """One server in `directory` (created, and removed on stop); `url(db)` connects over its socket."""

    def __init__(self, directory: Path, *, max_connections: int = 200) -> None:
        self.directory = directory
        self.max_connections = max_connections
        self._as_postgres: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._bindir: Path | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.directory}&port=5432"

    def start(self) -> PostgresServer:
        found = bindir()
        if found is None:
            raise PostgresUnavailable("PostgreSQL server binaries not found: `make test` installs the "
                                      "postgresql package (scripts/install-system-packages.sh), or set "
                                      "PG_BINDIR")
        self._bindir = found
        self.directory.mkdir(mode=0o700)
        if self._as_postgres:
            shutil.chown(self.directory, user="postgres", group="postgres")
        data = self.directory / "data"
        _run([*self._as_postgres, str(found / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "--no-sync", "-E", "UTF8", "--locale=C"])
        self.resume()
        return self

    def halt(self) -> None:
        """Stop the server as a crash or an outage would (immediately), keeping its data."""
        assert self._bindir is not None, "the server was not started"
        _run([*self._as_postgres, str(self._bindir / "pg_ctl"), "-D", str(self.directory / "data"),
              "-m", "immediate", "-w", "stop"])

    def resume(self) -> None:
        """Start the server on its data; returns once it accepts connections."""
        assert self._bindir is not None, "the server was not started"
        options = (f"-k {self.directory} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections={self.max_connections}")
        log = self.directory / "server.log"
        _run([*self._as_postgres, str(self._bindir / "pg_ctl"), "-D", str(self.directory / "data"), "-l",
              str(log), "-w", "-t", "60", "-o", options, "start"])

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (immediately: nothing here needs to survive) and remove its directory."""
        if self._bindir is not None:
            pg_ctl = str(self._bindir / "pg_ctl")
            subprocess.run([*self._as_postgres, pg_ctl, "-D", str(self.directory / "data"), "-m", "immediate",
                            "stop"], capture_output=True, check=False, timeout=60)
            self._bindir = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
