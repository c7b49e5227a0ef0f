"""The services' container images: built and pushed by `pulumi up`, or built elsewhere.

`imageSource: build` (the default). One `docker_build.Image` per service (Pulumi's docker-build
provider, BuildKit): `app_code/Dockerfile` over the `app_code/` context, for linux/arm64 (the
tasks run on Graviton), pushed to the service's own ECR repository (its execution role pulls from
there only) with a registry token from `aws.ecr.get_authorization_token`. The tag is the content
hash of the build context (the files `app_code/.dockerignore` lets in, and the Dockerfile): an
unchanged tree builds nothing new, and the task definition, which pins the pushed digest, rolls
nothing. The services share one Dockerfile and one context, so after the first build BuildKit's
cache makes the others a push.

The repositories keep every tag immutable except these content tags (`CONTEXT_TAG_PATTERN`):
deploying an earlier tree again (a revert) rebuilds the same content under the same tag, and a
build is not bit-for-bit reproducible, so its digest differs and an immutable tag would refuse
it. Nothing runs by tag anyway: task definitions pin digests.

`imageSource: prebuilt`. Each service's image is already in its repository (`prebuiltImages`): a
digest is used as given; a tag is resolved to its digest (`aws.ecr.get_image`) at deploy time, so
the task definition is pinned either way and a missing tag fails the update before any service
rolls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build
from docker.utils.build import exclude_paths

from components.config import PROJECT_DIR, ImageSource, PrebuiltImage, ServiceSpec

APP_CODE_DIR = PROJECT_DIR / "app_code"
DOCKERFILE = "Dockerfile"
PLATFORM = docker_build.Platform.LINUX_ARM64
"""The tasks' CPU architecture (web.FARGATE_CPU_ARCHITECTURE, ARM64): Graviton."""
DOCKERIGNORE = ".dockerignore"
CONTEXT_TAG_PREFIX = "src-"
CONTEXT_TAG_PATTERN = f"{CONTEXT_TAG_PREFIX}*"
"""The tags the program pushes (ECR's wildcard syntax): excluded from the tags' immutability."""


def context_files(root: Path = APP_CODE_DIR) -> tuple[str, ...]:
    """The files of the build context, as `.dockerignore` admits them (docker-py applies Docker's
    own matching rules), the Dockerfile and the ignore file included: POSIX paths relative to
    `root`, sorted."""
    ignore = root / DOCKERIGNORE
    patterns = [line.strip() for line in ignore.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")] if ignore.is_file() else []
    admitted = exclude_paths(str(root), patterns, dockerfile=DOCKERFILE)
    return tuple(sorted(p for p in admitted if (root / p).is_file()))


def context_tag(root: Path = APP_CODE_DIR) -> str:
    """CONTEXT_TAG_PREFIX and 24 hex digits of a SHA-256 over every context file's path and
    bytes."""
    digest = hashlib.sha256()
    for name in context_files(root):
        digest.update(name.encode() + b"\0" + hashlib.sha256((root / name).read_bytes()).digest())
    return f"{CONTEXT_TAG_PREFIX}{digest.hexdigest()[:24]}"


def app_module_file(spec: ServiceSpec, root: Path = APP_CODE_DIR) -> Path | None:
    """The file that defines the module of `spec.app` under `root`, or None when none does."""
    module = spec.app.split(":", 1)[0].replace(".", "/")
    return next((root / c for c in (f"{module}.py", f"{module}/__init__.py")
                 if (root / c).is_file()), None)


@dataclass(frozen=True, kw_only=True)
class ImageSettings:
    source: ImageSource = ImageSource.BUILD
    prebuilt: Mapping[str, PrebuiltImage] = field(default_factory=dict)
    """Per service name, with ImageSource.PREBUILT."""
    context: Path = APP_CODE_DIR


def validate_images(settings: ImageSettings, owner: str, services: Sequence[ServiceSpec]) -> None:
    """Before any resource: a prebuilt stack names an image for every service; a built one warns
    about a service whose app module is not in the build context (its tasks would not start, and
    the circuit breaker would roll the deployment back)."""
    if settings.source is ImageSource.PREBUILT:
        missing = [s.name for s in services if s.name not in settings.prebuilt]
        if missing:
            raise ValueError(f"{owner}: no prebuilt image for {', '.join(missing)}")
        return
    for spec in services:
        if app_module_file(spec, settings.context) is None:
            pulumi.log.warn(f"{owner}: service {spec.name} runs {spec.app}, which is not in "
                            f"{settings.context.name}/: its tasks will not start")


class ServiceImages:
    """Makes each service's image reference; the images are children of the caller's component.

    A plain helper rather than a component, like `web_autoscaling.ServiceScaling`: the images
    belong to the web tier's component next to the repositories they are pushed to.
    """

    def __init__(self, settings: ImageSettings, *, parent: pulumi.Resource) -> None:
        self.settings = settings
        self._parent = parent
        self._tag = context_tag(settings.context) if settings.source is ImageSource.BUILD else ""
        self._token: pulumi.Output[aws.ecr.GetAuthorizationTokenResult] | None = None

    def image(self, name: str, spec: ServiceSpec,
              repository: aws.ecr.Repository) -> pulumi.Output[str]:
        """The reference the task definition runs: `<repository>@sha256:<digest>`."""
        if self.settings.source is ImageSource.PREBUILT:
            return self._prebuilt(spec, repository)
        built = self._build(name, repository)
        return pulumi.Output.concat(repository.repository_url, "@", built.digest)

    def _build(self, name: str, repository: aws.ecr.Repository) -> docker_build.Image:
        if self._token is None:
            self._token = aws.ecr.get_authorization_token_output(
                opts=pulumi.InvokeOutputOptions(parent=self._parent))
        token = self._token
        context = self.settings.context
        return docker_build.Image(
            f"{name}-image",
            context={"location": str(context)},
            dockerfile={"location": str(context / DOCKERFILE)},
            platforms=[PLATFORM],
            push=True,
            tags=[pulumi.Output.concat(repository.repository_url, ":", self._tag)],
            registries=[{
                "address": repository.repository_url.apply(lambda url: url.split("/", 1)[0]),
                "username": token.user_name,
                "password": pulumi.Output.secret(token.password)}],
            # Build during `pulumi preview` too: a broken Dockerfile fails the pull request's
            # preview rather than the deploy.
            build_on_preview=True,
            opts=pulumi.ResourceOptions(parent=self._parent))

    def _prebuilt(self, spec: ServiceSpec, repository: aws.ecr.Repository) -> pulumi.Output[str]:
        image = self.settings.prebuilt[spec.name]
        if image.digest is not None:
            digest: pulumi.Input[str] = image.digest
        else:
            digest = aws.ecr.get_image_output(
                repository_name=repository.name, image_tag=image.tag,
                opts=pulumi.InvokeOutputOptions(parent=self._parent)).image_digest
        return pulumi.Output.concat(repository.repository_url, "@", digest)
