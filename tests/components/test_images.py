"""The services' images: built by `pulumi up` for linux/arm64 and pushed to each service's own
repository, task definitions pinned to the pushed digest; or images built elsewhere, by config."""

from __future__ import annotations

import json
import re
import shutil
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from components.images import APP_CODE_DIR, CONTEXT_TAG_PATTERN, context_files, context_tag
from components.web import DeploymentRolledBack, deployed_task_definition
from offline.engine import UNKNOWN, Resource, Snapshot, stack_config
from tests.support.stacks import PREBUILT_DIGEST

IMAGE = "docker-build:index:Image"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
REPOSITORY = "aws:ecr/repository:Repository"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def app_container(task: Resource) -> dict[str, Any]:
    containers = json.loads(task.inputs["containerDefinitions"])
    return next(c for c in containers if c["name"] != "otel-collector")


def tasks_by_service(snapshot: Snapshot) -> dict[str, Resource]:
    return {app_container(t)["name"]: t for t in snapshot.of_type(TASK)}


def repository_of(snapshot: Snapshot, url: str) -> Resource:
    (repository,) = [r for r in snapshot.of_type(REPOSITORY) if r.outputs["repositoryUrl"] == url]
    return repository


def configured_services(snapshot: Snapshot) -> list[str]:
    return [line.split()[0] for line in json.loads(snapshot.config["ecommerce:services"])]


# -- built by the program (the default) -----------------------------------------------------------


def test_each_service_runs_the_digest_the_program_built_and_pushed_to_its_own_repository(
        prod: Snapshot) -> None:
    images = prod.of_type(IMAGE)
    tasks = tasks_by_service(prod)
    # GIVEN one image build per configured service
    assert len(images) == len(configured_services(prod)) == len(tasks)
    for service, task in tasks.items():
        # WHEN the service's task definition names its image
        repository_url, digest = app_container(task)["image"].split("@")
        # THEN it is its own repository's image, pinned to the digest the build pushed there
        (image,) = [i for i in images if i.inputs["tags"][0].startswith(f"{repository_url}:")]
        assert DIGEST.fullmatch(digest) and digest == image.outputs["digest"]
        repository = repository_of(prod, repository_url)
        assert repository.name == f"web-{service}"
        assert image.parent == repository.parent  # both children of the web tier's component
        assert image.outputs["ref"] == f"{image.inputs['tags'][0]}@{digest}"
        assert prod.outputs["serviceImages"][service] == f"{repository_url}@{digest}"


def test_the_build_is_the_app_code_dockerfile_for_graviton_pushed_with_an_ecr_token(
        prod: Snapshot) -> None:
    for image in prod.of_type(IMAGE):
        assert image.inputs["context"] == {"location": str(APP_CODE_DIR)}
        assert image.inputs["dockerfile"] == {"location": str(APP_CODE_DIR / "Dockerfile")}
        assert image.inputs["platforms"] == ["linux/arm64"]
        assert image.inputs["push"] is True
        # tagged with the content hash of the context (the repositories' tags are immutable)
        (tag,) = image.inputs["tags"]
        repository_url, _, tagged = tag.rpartition(":")
        assert tagged == context_tag()
        # the one kind of tag the repositories let a rebuild overwrite (a revert rebuilds it)
        assert fnmatch(tagged, CONTEXT_TAG_PATTERN)
        # logged in to that repository's registry with the token ECR hands the program
        (registry,) = image.inputs["registries"]
        assert registry["address"] == repository_url.split("/")[0]
        assert registry["username"] == "AWS" and registry["password"]
    for task in prod.of_type(TASK):  # the tasks run on the platform the images are built for
        assert task.inputs["runtimePlatform"]["cpuArchitecture"] == "ARM64"


def test_each_image_is_planned_as_a_build_in_a_preview_too(prod_preview: Snapshot) -> None:
    images = prod_preview.of_type(IMAGE)
    assert len(images) == len(configured_services(prod_preview))
    assert all(image.inputs["buildOnPreview"] is True for image in images)
    # what only the build knows stays unknown, as in `pulumi preview`
    assert all("digest" not in image.outputs for image in images)
    assert prod_preview.outputs["serviceImages"] == UNKNOWN
    (invocation,) = prod_preview.of_type("aws:lambda/invocation:Invocation")
    assert "result" not in invocation.outputs


def test_the_tag_follows_what_the_dockerignore_lets_into_the_context(tmp_path: Path) -> None:
    # GIVEN a copy of app_code
    root = tmp_path / "app_code"
    shutil.copytree(APP_CODE_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    before = context_tag(root)
    assert "Dockerfile" in context_files(root) and "shop/migrate.py" in context_files(root)

    # WHEN only files the image never sees change, THEN the tag (and so the image) stays
    (root / "shop" / "__pycache__").mkdir()
    (root / "shop" / "__pycache__" / "checkout.cpython-311.pyc").write_bytes(b"\0")
    (root / "shop" / "tests").mkdir()
    (root / "shop" / "tests" / "test_x.py").write_text("assert True\n")
    (root / "notes.txt").write_text("not in the image\n")
    assert context_tag(root) == before

    # WHEN the code, the pins or the Dockerfile change, THEN the tag changes
    for changed in ("shop/checkout.py", "requirements.txt", "Dockerfile"):
        path = root / changed
        original = path.read_text()
        path.write_text(original + "\n# changed\n")
        assert context_tag(root) != before, changed
        path.write_text(original)
    assert context_tag(root) == before


def test_each_container_runs_its_service_s_command_and_checks_health_with_python(
        prod: Snapshot) -> None:
    cfg = parse_stack_config(prod.config, stack="prod")
    tasks = tasks_by_service(prod)
    for spec in cfg.web.services:
        app = app_container(tasks[spec.name])
        assert app["command"] == ["python", "-m", "uvicorn", spec.app, "--host", "0.0.0.0"]
        environment = {e["name"]: e["value"] for e in app["environment"]}
        assert environment["UVICORN_PORT"] == environment["PORT"] == str(spec.port)
        kind, python, flag, code = app["healthCheck"]["command"]
        assert (kind, python, flag) == ("CMD", "python", "-c")  # the image has no curl or wget
        assert "os.environ['PORT']" in code


def test_services_wait_for_a_steady_state_and_roll_back_a_deployment_that_does_not_start(
        prod: Snapshot) -> None:
    for service in prod.of_type(SERVICE):
        assert service.inputs["waitForSteadyState"] is True
        assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_an_update_whose_deployment_was_rolled_back_fails_naming_the_service() -> None:
    new = "arn:aws:ecs:us-east-1:123456789012:task-definition/ecommerce-prod-order-api:8"
    old = new.replace(":8", ":7")
    # the provider reports success once the rolled-back service is steady again
    assert deployed_task_definition("order-api", new, new) == new
    with pytest.raises(DeploymentRolledBack, match=r"order-api: the deployment of .*:8 was rolled "
                                                   r"back .* still runs .*:7"):
        deployed_task_definition("order-api", new, old)


def test_a_service_whose_app_module_is_missing_is_named_in_a_warning(prod: Snapshot) -> None:
    cfg = parse_stack_config(prod.config, stack="prod")
    for spec in cfg.web.services:
        module = spec.app.split(":")[0].replace(".", "/")
        present = (APP_CODE_DIR / f"{module}.py").is_file() or \
            (APP_CODE_DIR / module / "__init__.py").is_file()
        warned = any(f"service {spec.name} runs {spec.app}, which is not in" in w
                     for w in prod.warnings)
        assert warned != present, spec.name


# -- built elsewhere --------------------------------------------------------------------------------

@pytest.fixture
def prebuilt(prod_prebuilt: Snapshot) -> Snapshot:
    return prod_prebuilt


def test_images_built_elsewhere_are_deployed_by_digest_and_nothing_is_built(
        prebuilt: Snapshot) -> None:
    assert not prebuilt.of_type(IMAGE)
    tasks = tasks_by_service(prebuilt)
    repository_url, digest = app_container(tasks["order-api"])["image"].split("@")
    assert digest == PREBUILT_DIGEST and repository_of(prebuilt, repository_url)
    # a tag is resolved to the digest it has in the repository when the update runs
    for service in ("storefront", "admin"):
        repository_url, digest = app_container(tasks[service])["image"].split("@")
        assert DIGEST.fullmatch(digest) and digest != PREBUILT_DIGEST
        assert repository_of(prebuilt, repository_url).name == f"web-{service}"


@pytest.mark.parametrize(("settings", "message"), [
    ({"prebuiltImages": ["order-api tag=v1"]},
     "ecommerce:prebuiltImages is set but imageSource is build"),
    ({"imageSource": "prebuilt", "prebuiltImages": ["order-api tag=v1"]},
     "ecommerce:prebuiltImages has no image for storefront, admin"),
    ({"imageSource": "prebuilt", "prebuiltImages": ["order-api digest=sha256:abc"]},
     r"ecommerce:prebuiltImages\[0\] digest='sha256:abc' must be sha256:<64 hex digits>"),
    ({"imageSource": "prebuilt", "prebuiltImages": ["order-api tag=v1 digest=" + "0" * 64]},
     r"ecommerce:prebuiltImages\[0\] = .* must give exactly one of tag= or digest="),
    ({"imageSource": "prebuilt", "prebuiltImages": ["checkout tag=v1"]},
     "ecommerce:prebuiltImages names 'checkout', which is not in services"),
    ({"imageSource": "docker"}, "ecommerce:imageSource = 'docker' is not allowed: one of build, "
                                "prebuilt"),
    ({"services": ["storefront path=/* app=shop.storefront.app:app",
                   "search path=/search/*"]},
     r"ecommerce:services\[1\] is missing app=: name the ASGI app search serves"),
])
def test_image_settings_are_checked_before_anything_is_made(settings: dict[str, Any], message: str) -> None:
    values, _ = stack_config("prod", overrides={f"ecommerce:{k}": v for k, v in settings.items()})
    with pytest.raises(ConfigError, match=message):
        parse_stack_config(values, stack="prod")
