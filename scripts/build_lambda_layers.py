"""Build the Lambda dependencies layer before `pulumi preview` / `pulumi up` (needs PyPI).

    .venv/bin/python scripts/build_lambda_layers.py

Installs the wheels app_code/requirements.txt pins for the handlers' third-party imports (psycopg
with its binary libpq, psycopg-pool, pydantic, stripe, sqlparse) for Lambda's platform (manylinux
aarch64, CPython 3.12) into build/lambda-layers/dependencies/python, and AWS's RDS CA bundle into
build/lambda-layers/dependencies/rds-ca/ (the migrator verifies the Aurora writer's certificate with
it), the folder the FunctionBase component deploys as a layer. Offline runs (`make preview`, the
tests) never read that folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.lambda_code import (  # noqa: E402 - after the path set-up above
    DEPENDENCIES_LAYER_DIR,
    RDS_CA_BUNDLE_IN_LAYER,
    RDS_CA_BUNDLE_URL,
    dependencies_layer_build_command,
    dependency_requirements,
)


def main() -> int:
    shutil.rmtree(DEPENDENCIES_LAYER_DIR, ignore_errors=True)
    DEPENDENCIES_LAYER_DIR.mkdir(parents=True)
    result = subprocess.run(dependencies_layer_build_command(), check=False)
    if result.returncode:
        print("building the Lambda dependencies layer failed (see pip's output above)",
              file=sys.stderr)
        return result.returncode
    (DEPENDENCIES_LAYER_DIR / "requirements.txt").write_text(
        "\n".join(dependency_requirements()) + "\n")
    bundle = DEPENDENCIES_LAYER_DIR / RDS_CA_BUNDLE_IN_LAYER
    bundle.parent.mkdir(parents=True)
    with urllib.request.urlopen(RDS_CA_BUNDLE_URL, timeout=60) as response:  # verified HTTPS
        pem = response.read()
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        print(f"{RDS_CA_BUNDLE_URL} did not return PEM certificates", file=sys.stderr)
        return 1
    bundle.write_bytes(pem)
    print(f"built {DEPENDENCIES_LAYER_DIR}: {', '.join(dependency_requirements())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
