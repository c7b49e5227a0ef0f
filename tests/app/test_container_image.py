"""The services' image: its Dockerfile lints clean, and the exact command each task definition
runs serves the service against the real PostgreSQL, with the health check the task uses.

No registry is reachable here, so the image itself cannot be built: the command runs in the test
environment, from `app_code/` as the image's working directory, with the task's own environment
(the database and AWS pointed at the test's PostgreSQL and moto)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.config import parse_stack_config
from components.images import APP_CODE_DIR
from components.web import health_path
from offline.engine import Snapshot
from tests.support.app_env import REGION

DOCKERFILE = APP_CODE_DIR / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
STARTED = "Uvicorn running on"  # after the app started and the socket listens


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HADOLINT), "--no-color", "--failure-threshold", "style",
                           str(dockerfile)], capture_output=True, text=True, check=False,
                          timeout=60)


def test_the_dockerfile_lints_clean() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linter_would_catch_curl_added_the_usual_way(tmp_path: Path) -> None:
    # GIVEN someone adds curl for a health check, unpinned, keeping apt's lists in the image
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace(
        "USER 10001:10001", "RUN apt-get update && apt-get install -y curl\nUSER 10001:10001"))
    # THEN the same lint fails, naming the rules
    result = hadolint(broken)
    assert result.returncode != 0
    assert {"DL3008", "DL3009", "DL3015"} <= set(re.findall(r"DL\d{4}", result.stdout))


def stages(dockerfile: str) -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found: list[list[str]] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def test_the_image_is_pinned_non_root_and_runs_nothing_at_build_time_for_its_platform() -> None:
    all_stages = stages(DOCKERFILE.read_text())
    for stage in all_stages:  # every base image by digest
        assert re.match(r"FROM (--platform=\S+ )?python:3\.12-slim-bookworm@sha256:[0-9a-f]{64}",
                        stage[0]), stage[0]
    final = all_stages[-1]
    instructions = [line.split()[0].upper() for line in final]
    assert "RUN" not in instructions  # so a linux/arm64 image builds anywhere, without emulation
    (user,) = [line for line in final if line.upper().startswith("USER ")]
    assert re.fullmatch(r"USER [1-9]\d{3,}:[1-9]\d{3,}", user)
    assert "--platform=$BUILDPLATFORM" in all_stages[0][0]


# -- the exact command, served -------------------------------------------------------------------


def app_containers(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    tasks = snapshot.of_type("aws:ecs/taskDefinition:TaskDefinition")
    containers = [c for t in tasks for c in json.loads(t.inputs["containerDefinitions"])]
    return {c["name"]: c for c in containers if c["name"] != "otel-collector"}


def configured() -> list[Any]:
    from offline.engine import stack_config

    values, _ = stack_config("prod")
    return [spec.name for spec in parse_stack_config(values, stack="prod").web.services]


@pytest.fixture(scope="module")
def aws_server() -> Iterator[str]:
    """moto as a server, for a process of its own (the service reads its key at start-up)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """The command running as a process; `started` once uvicorn listens, or it exits."""

    def __init__(self, command: list[str], environment: dict[str, str]) -> None:
        self.process = subprocess.Popen(command, cwd=APP_CODE_DIR, env=environment, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if STARTED in line:
                self.ready.set()
        self.ready.set()  # it exited: nothing more will come

    def started(self) -> bool:
        self.ready.wait(timeout=60)  # a guard against a hang, not a timing assertion
        return self.process.poll() is None and any(STARTED in line for line in self.output)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.mark.parametrize("service", configured())
def test_the_command_the_task_runs_serves_its_health_path_against_postgresql(
        service: str, prod: Snapshot, postgres: str, aws_server: str) -> None:
    import boto3

    # GIVEN the container exactly as the prod task definition describes it
    container = app_containers(prod)[service]
    command, variables = container["command"], {e["name"]: e["value"] for e in container["environment"]}
    cfg = parse_stack_config(prod.config, stack="prod")
    (spec,) = [s for s in cfg.web.services if s.name == service]
    # ... its payment key in (moto's) Secrets Manager, and the database and AWS of this test
    key_arn = boto3.client("secretsmanager", region_name=REGION, endpoint_url=aws_server,
                           aws_access_key_id="testing", aws_secret_access_key="testing"
                           ).create_secret(Name=f"stripe-{service}-{free_port()}",
                                           SecretString='{"api_key": "sk_test_image"}')["ARN"]
    port = str(free_port())
    environment = {
        **variables,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": postgres, "AWS_ENDPOINT_URL": aws_server, "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "PORT": port, "UVICORN_PORT": port,
        **({"STRIPE_SECRET_ARN": key_arn} if "STRIPE_SECRET_ARN" in variables else {})}

    # WHEN the task's command starts
    served = Served(command, environment)
    try:
        assert served.started(), "".join(served.output)[-3000:]
        # THEN its health path answers 200 ...
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{health_path(spec)}",
                                    timeout=10) as response:
            assert response.status == 200
        # ... and the container's own health check passes, run as ECS runs it
        kind, *check = container["healthCheck"]["command"]
        assert kind == "CMD"
        result = subprocess.run(check, env=environment, capture_output=True, text=True,
                                timeout=30, check=False)
        assert result.returncode == 0, result.stderr
    finally:
        served.stop()
