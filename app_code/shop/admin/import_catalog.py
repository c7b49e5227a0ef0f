"""Import a catalog CSV from the command line (docs/admin.md, "Import a catalog").

    python -m shop.admin.import_catalog catalog.csv --actor you@example.com [--dry-run]

It connects as the settings say (DATABASE_URL, or PGHOST... with IAM auth as the admin service does)
and applies the file exactly as `POST /admin/api/imports` does. Exit status: 0 imported (or checked,
with --dry-run), 1 the file was rejected (every problem printed, nothing written), 2 it could not run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg

from shop.admin.importer import Importer, ImportRejected
from shop.db import Database
from shop.settings import ConfigurationError, Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.admin.import_catalog",
                                     description="Import products (and categories) from a CSV file.")
    parser.add_argument("file", type=Path, help="the CSV file (see docs/admin.md for its columns)")
    parser.add_argument("--actor", required=True, help="who imports, for the audit trail (your email)")
    parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    args = parser.parse_args(argv)
    try:
        data = args.file.read_bytes()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        database = Database(Settings.from_env(), max_size=1)
    except ConfigurationError as error:
        print(str(error), file=sys.stderr)
        return 2
    try:
        result = Importer(database).run(data, actor=args.actor.strip()[:320] or "cli", source="cli",
                                        dry_run=args.dry_run)
    except ImportRejected as rejected:
        print(f"{args.file}: rejected, nothing was imported ({len(rejected.errors)} problem(s)):",
              file=sys.stderr)
        for problem in rejected.errors:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except psycopg.Error as error:
        print(f"database error: {error}", file=sys.stderr)
        return 2
    finally:
        database.close()
    verb = "would import" if args.dry_run else "imported"
    print(f"{args.file}: {verb} {result.rows} row(s): {result.created} created, {result.updated} updated, "
          f"{result.unchanged} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
