"""No plaintext secrets in infrastructure (design: secrets come from secure config or Secrets
Manager, never plaintext). PCI DSS v4.0 Req 8.3.2 (authentication factors unreadable in storage
and transmission) and Req 8.6.2 (no hard-coded passwords for system accounts).

Values computed by other resources (e.g. a secret's ARN) are unknown during preview: they are no
plaintext literal, and are scanned again when the update runs the pack with every value resolved.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .cardholder_data import card_numbers
from .common import (
    MANDATORY,
    Report,
    Res,
    StackGraph,
    as_list,
    message,
    parse_json,
    pci,
    resource_policy,
    snake,
    stack_policy,
    tokens,
)

PASSWORDS: dict[str, tuple[tuple[str, ...], ...]] = {  # type -> where a password would sit
    "aws:rds/cluster:Cluster": (("masterPassword",),),
    "aws:rds/instance:Instance": (("password",),),
    "aws:docdb/cluster:Cluster": (("masterPassword",),),
    "aws:redshift/cluster:Cluster": (("masterPassword",),),
    "aws:redshiftserverless/namespace:Namespace": (("adminUserPassword",),),
    "aws:opensearch/domain:Domain": (("advancedSecurityOptions", "masterUserOptions", "masterUserPassword"),),
    "aws:elasticsearch/domain:Domain": (("advancedSecurityOptions", "masterUserOptions",
                                         "masterUserPassword"),),
    "aws:elasticache/replicationGroup:ReplicationGroup": (("authToken",),),
    "aws:elasticache/user:User": (("passwords",), ("authenticationMode", "passwords")),
    "aws:memorydb/user:User": (("authenticationMode", "passwords"),),
    "aws:dms/endpoint:Endpoint": (("password",),),
}
# Services that offer no way around passing the secret (the engine hands the pack a value from
# secret config like a literal, so a set value proves nothing): only a credential in a known format
# is plaintext for sure there.
FORMAT_ONLY: dict[str, tuple[tuple[str, ...], ...]] = {
    "aws:cloudwatch/eventConnection:EventConnection": (
        ("authParameters", "apiKey", "value"), ("authParameters", "basic", "password"),
        ("authParameters", "oauth", "clientParameters", "clientSecret")),
    "aws:mq/broker:Broker": (("users", "password"),),
    "aws:directoryservice/directory:Directory": (("password",),),
}
FUNCTION = "aws:lambda/function:Function"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
BATCH_JOB = "aws:batch/jobDefinition:JobDefinition"
APP_RUNNER = "aws:apprunner/service:Service"
CODEBUILD = "aws:codebuild/project:Project"
BEANSTALK = "aws:elasticbeanstalk/environment:Environment"
GLUE_JOB = "aws:glue/job:Job"
GLUE_CONNECTION = "aws:glue/connection:Connection"
PARAMETER = "aws:ssm/parameter:Parameter"
USER_DATA = {"aws:ec2/instance:Instance": ("userData", "userDataBase64"),
             "aws:ec2/launchTemplate:LaunchTemplate": ("userData",),
             "aws:ec2/launchConfiguration:LaunchConfiguration": ("userData", "userDataBase64"),
             "aws:ec2/spotInstanceRequest:SpotInstanceRequest": ("userData", "userDataBase64")}
ENVIRONMENTS = (FUNCTION, TASK_DEFINITION, BATCH_JOB, APP_RUNNER, CODEBUILD, BEANSTALK, GLUE_JOB,
                GLUE_CONNECTION)
SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "credential", "credentials", "apikey",
                "privatekey", "passphrase"}
KEY_QUALIFIERS = {"api", "private", "access", "signing", "secret", "encryption", "license", "client"}
REFERENCE_SUFFIXES = {"arn", "name", "id", "path", "param", "parameter", "ref", "url", "uri", "endpoint",
                      "file", "region", "length", "ttl", "header", "version", "type", "enabled", "key"}
SECRET_FORMATS = re.compile(
    r"(sk|rk)_(live|test)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z]{10,}|(AKIA|ASIA)[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|xox[abposr]-[0-9A-Za-z-]{10,}|gh[pousr]_[0-9A-Za-z]{30,}"
    r"|AIza[0-9A-Za-z_-]{35}")
REFERENCE_VALUE = re.compile(r"^(arn:|/|\{\{resolve:|\$|ssm:|secretsmanager:|https?://)")


def is_secret_name(name: str) -> bool:
    """`DB_PASSWORD`, `stripeApiKey`, `WEBHOOK_SECRET` -- but not `API_KEY_SECRET_ARN`."""
    words = tokens(name)
    if not words:
        return False
    joined = {"".join(words[i:i + 2]) for i in range(len(words))}
    secretish = bool(SECRET_WORDS & (set(words) | joined)) or any(
        words[i] == "key" and words[i - 1] in KEY_QUALIFIERS for i in range(1, len(words)))
    return secretish and words[-1] not in REFERENCE_SUFFIXES - {"key"}


def plaintext_secret(name: str, value: Any) -> str | None:
    """Why `name=value` is a plaintext secret, or None."""
    if not isinstance(value, str) or not value:
        return None
    if SECRET_FORMATS.search(value):
        return f"{name} holds a credential in a known format"
    if is_secret_name(name) and len(value) >= 8 and not REFERENCE_VALUE.match(value) \
            and value.lower() not in ("true", "false", "none", "null", "changeme"):
        return f"{name} is set to a literal value"
    return None


def _environment(resource: Res) -> Iterator[tuple[str, Any]]:  # noqa: PLR0912 - one branch per service type it reads
    """(variable, value) pairs that the service keeps and shows in plaintext."""
    if resource.type == FUNCTION:
        environment = resource.first("environment")
        variables = environment.get("variables") if isinstance(environment, Mapping) else None
        if isinstance(variables, Mapping):
            yield from variables.items()
    elif resource.type in (TASK_DEFINITION, BATCH_JOB):
        key = "containerDefinitions" if resource.type == TASK_DEFINITION else "containerProperties"
        containers = parse_json(resource.props.get(key))
        for container in as_list(containers) if isinstance(containers, dict | list) else []:
            if not isinstance(container, Mapping):
                continue
            for entry in as_list(container.get("environment")):
                if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                    yield f"{container.get('name') or 'container'}/{entry['name']}", entry.get("value")
    elif resource.type == APP_RUNNER:
        for path in (("sourceConfiguration", "imageRepository", "imageConfiguration",
                      "runtimeEnvironmentVariables"),
                     ("sourceConfiguration", "codeRepository", "codeConfiguration",
                      "codeConfigurationValues", "runtimeEnvironmentVariables")):
            variables = resource.get(*path)
            if isinstance(variables, Mapping):
                yield from variables.items()
    elif resource.type == CODEBUILD:
        for variable in as_list(resource.get("environment", "environmentVariables", default=[])):
            if isinstance(variable, Mapping) and variable.get("type") in (None, "PLAINTEXT"):
                yield str(variable.get("name")), variable.get("value")
    elif resource.type == BEANSTALK:
        for setting in as_list(resource.props.get("settings")):
            if isinstance(setting, Mapping) and setting.get("namespace") == \
                    "aws:elasticbeanstalk:application:environment":
                yield str(setting.get("name")), setting.get("value")
    elif resource.type == GLUE_JOB:
        arguments = resource.props.get("defaultArguments")
        if isinstance(arguments, Mapping):
            yield from ((str(k).lstrip("-"), v) for k, v in arguments.items())
    elif resource.type == GLUE_CONNECTION:
        properties = resource.props.get("connectionProperties")
        if isinstance(properties, Mapping):
            yield from properties.items()


def _values_at(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value at `path`, through lists (a broker's users, an ElastiCache user's passwords)."""
    if not path:
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _values_at(item, path)
    elif isinstance(value, Mapping):
        yield from _values_at(value.get(path[0]), path[1:])


ASSIGNMENT = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*['\"]?([^'\"\s]+)")


def _user_data(resource: Res) -> Iterator[tuple[str, Any]]:
    """`NAME=value` assignments and the whole script of an instance's user data (base64 decoded)."""
    for key in USER_DATA[resource.type]:
        script = resource.props.get(key)
        if not isinstance(script, str) or not script:
            continue
        if key == "userDataBase64" or resource.type == "aws:ec2/launchTemplate:LaunchTemplate":
            try:
                script = base64.b64decode(script, validate=True).decode("utf-8", errors="replace")
            except (ValueError, binascii.Error):
                pass  # not base64: the script itself
        yield "user data", script
        for match in ASSIGNMENT.finditer(script):
            yield f"user data {match.group(1)}", match.group(2)


def plaintext_places(resource: Res) -> Iterator[tuple[str, Any]]:
    """(where, value) for every place of `resource` a plaintext secret could sit."""
    if resource.type in ENVIRONMENTS:
        yield from _environment(resource)
    elif resource.type in USER_DATA:
        yield from _user_data(resource)
    elif resource.type == PARAMETER and resource.props.get("type") != "SecureString":
        name = resource.props.get("name")
        yield (name if isinstance(name, str) else resource.name), resource.props.get("value")
    for key, value in resource.tags.items():
        yield f"tag {key}", value


def _check(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """No secret is written into the program or kept by AWS where anyone who can read the
    resource's configuration can read it.

    Covers (passwords set by the program): aws:rds/cluster:Cluster, aws:rds/instance:Instance,
    aws:docdb/cluster:Cluster, aws:redshift/cluster:Cluster,
    aws:redshiftserverless/namespace:Namespace, aws:opensearch/domain:Domain,
    aws:elasticsearch/domain:Domain, aws:elasticache/replicationGroup:ReplicationGroup,
    aws:elasticache/user:User, aws:memorydb/user:User, aws:dms/endpoint:Endpoint (each has a managed
    or IAM alternative). Covers (a credential in a known format only, as these services offer no
    way around passing the secret): aws:cloudwatch/eventConnection:EventConnection,
    aws:mq/broker:Broker, aws:directoryservice/directory:Directory.
    Covers (environment and connection properties): aws:lambda/function:Function,
    aws:ecs/taskDefinition:TaskDefinition, aws:batch/jobDefinition:JobDefinition,
    aws:apprunner/service:Service, aws:codebuild/project:Project (PLAINTEXT variables),
    aws:elasticbeanstalk/environment:Environment, aws:glue/job:Job (default arguments),
    aws:glue/connection:Connection. Covers (parameters): aws:ssm/parameter:Parameter of type
    String or StringList. Covers (user data): aws:ec2/instance:Instance,
    aws:ec2/launchTemplate:LaunchTemplate, aws:ec2/launchConfiguration:LaunchConfiguration,
    aws:ec2/spotInstanceRequest:SpotInstanceRequest. Covers (tags): every resource's tags.
    Stack outputs: `stack-outputs-disallow-secrets`.

    A value the program set from secret config reaches the pack like a literal (the engine
    unwraps secrets before policies see them), so any password set through the program fails:
    it still lives in the stack's state and never rotates.

    Well-built programs: they let the service keep the password (manage_master_user_password, IAM
    authentication), pass secrets by reference (an ARN in the environment, ECS `secrets`,
    SecureString parameters, CodeBuild SECRETS_MANAGER variables) and keep credentials out of tags
    and user data.
    """
    for path in PASSWORDS.get(resource.type, ()):
        if any(v is not None and v not in ("", []) for v in _values_at(resource.props, path)):
            report(message(resource, f"a password is set in the program ({'.'.join(map(snake, path))}); "
                                     "it lives in the program's config and the stack state",
                           "let the service keep it in Secrets Manager: "
                           "manage_master_user_password=True (RDS/Aurora/DocumentDB/Redshift), IAM "
                           "authentication (ElastiCache/MemoryDB users, databases), or an IAM master "
                           "user; EventBridge connections and brokers: a Secrets Manager secret"))
    found = sorted({reason for where, value in plaintext_places(resource)
                    if (reason := plaintext_secret(where, value))}
                   | {f"{'.'.join(map(snake, path))} holds a credential in a known format"
                      for path in FORMAT_ONLY.get(resource.type, ())
                      for value in _values_at(resource.props, path)
                      if isinstance(value, str) and SECRET_FORMATS.search(value)})
    if found:
        report(message(resource, "plaintext secret: " + "; ".join(found),
                       "store it in Secrets Manager (or a SecureString parameter) and pass its ARN "
                       "(ECS and Batch: the container's `secrets` with valueFrom; Lambda: read it at "
                       "start-up with the ARN in an environment variable); never put it in tags or "
                       "user data"))


def _check_outputs(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """No stack output carries a secret or a card number: `pulumi stack output` shows outputs to
    every reader of the stack (a secret-marked output too, with --show-secrets).

    Covers: pulumi:pulumi:Stack (its outputs, as the engine hands them to AnalyzeStack).

    Well-built programs: they export ARNs, names and endpoints, never a password or a key.
    """
    for stack in graph.of_type("pulumi:pulumi:Stack"):
        outputs = list(_flatten(stack.props))
        found = sorted({reason for name, value in outputs
                        if (reason := plaintext_secret(f"output {name}", value))}
                       | {f"output {name} holds a card number ({number})" for name, value in outputs
                          if isinstance(value, str) for number in card_numbers(value)})
        if found:
            report(message(stack, "a stack output holds a secret: " + "; ".join(found),
                           "export the secret's ARN (or nothing) instead of its value"), stack.urn)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


secrets_disallow_plaintext = resource_policy(
    name="secrets-disallow-plaintext",
    description="No passwords or tokens in the program, and no plaintext secrets in environment "
                "variables, connection properties, String parameters, user data or tags.",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check,
    remediation="Use manage_master_user_password=True and Secrets Manager references instead of "
                "literal secrets.",
    framework=pci("8.6.2"), tags=["pci-dss", "secrets"],
    covers=(*PASSWORDS, *FORMAT_ONLY, *ENVIRONMENTS, PARAMETER, *USER_DATA, "(every resource's tags)"))

stack_outputs_disallow_secrets = stack_policy(
    name="stack-outputs-disallow-secrets",
    description="Stack outputs must not carry passwords, keys, tokens or card numbers.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_outputs,
    remediation="Export the secret's ARN, never its value.",
    framework=pci("8.3.2"), tags=["pci-dss", "secrets"], covers=("pulumi:pulumi:Stack",))

POLICIES = [secrets_disallow_plaintext, stack_outputs_disallow_secrets]
