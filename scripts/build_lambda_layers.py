"""Build the Lambda dependencies layer before `pulumi preview` / `pulumi up` (needs PyPI).

    .venv/bin/python scripts/build_lambda_layers.py

Installs the wheels app_code/requirements.txt pins for the handlers' third-party imports (psycopg
with its binary libpq, psycopg-pool, pydantic, stripe) for Lambda's platform (manylinux aarch64,
CPython 3.12) into build/lambda-layers/dependencies/python, the folder the FunctionBase component
deploys as a layer. Offline runs (`make preview`, the tests) never read that folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.lambda_code import (  # noqa: E402 - after the path set-up above
    DEPENDENCIES_LAYER_DIR,
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
    print(f"built {DEPENDENCIES_LAYER_DIR}: {', '.join(dependency_requirements())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
