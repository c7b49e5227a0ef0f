"""No plaintext secrets in infrastructure (design: secrets come from secure config or Secrets
Manager, never plaintext). PCI DSS v4.0 Req 8.3.2 (authentication factors unreadable in storage
and transmission) and Req 8.6.2 (no hard-coded passwords for system accounts).

Values computed by other resources (e.g. a secret's ARN) are unknown during preview: they are no
plaintext literal, and are scanned again when the update runs the pack with every value resolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    MANDATORY,
    Report,
    Res,
    as_list,
    message,
    parse_json,
    pci,
    resource_policy,
    snake,
    tokens,
)

PASSWORDS: dict[str, tuple[tuple[str, ...], ...]] = {  # type -> where a literal password would sit
    "aws:rds/cluster:Cluster": (("masterPassword",),),
    "aws:rds/instance:Instance": (("password",),),
    "aws:docdb/cluster:Cluster": (("masterPassword",),),
    "aws:redshift/cluster:Cluster": (("masterPassword",),),
    "aws:opensearch/domain:Domain": (("advancedSecurityOptions", "masterUserOptions", "masterUserPassword"),),
    "aws:elasticsearch/domain:Domain": (("advancedSecurityOptions", "masterUserOptions",
                                         "masterUserPassword"),),
    "aws:elasticache/replicationGroup:ReplicationGroup": (("authToken",),),
    "aws:elasticache/user:User": (("passwords",), ("authenticationMode", "passwords")),
}
FUNCTION = "aws:lambda/function:Function"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "credential", "credentials", "apikey",
                "privatekey", "passphrase"}
KEY_QUALIFIERS = {"api", "private", "access", "signing", "secret", "encryption", "license", "client"}
REFERENCE_SUFFIXES = {"arn", "name", "id", "path", "param", "parameter", "ref", "url", "uri", "endpoint",
                      "file", "region", "length", "ttl", "header", "version", "type", "enabled", "key"}
SECRET_FORMATS = re.compile(
    r"(sk|rk)_(live|test)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z]{10,}|(AKIA|ASIA)[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|xox[abposr]-[0-9A-Za-z-]{10,}|gh[pousr]_[0-9A-Za-z]{30,}"
    r"|AIza[0-9A-Za-z_-]{35}")
REFERENCE_VALUE = re.compile(r"^(arn:|/|\{\{resolve:|\$\{|ssm:|secretsmanager:|https?://)")


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


def _environment(resource: Res) -> Iterator[tuple[str, Any]]:
    if resource.type == FUNCTION:
        environment = resource.first("environment")
        variables = environment.get("variables") if isinstance(environment, Mapping) else None
        if isinstance(variables, Mapping):
            yield from variables.items()
    elif resource.type == TASK_DEFINITION:
        containers = parse_json(resource.props.get("containerDefinitions"))
        for container in containers if isinstance(containers, list) else []:
            if not isinstance(container, Mapping):
                continue
            for entry in as_list(container.get("environment")):
                if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                    yield f"{container.get('name')}/{entry['name']}", entry.get("value")


def _check(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    for path in PASSWORDS.get(resource.type, ()):
        value = resource.get(*path)
        if value is not None and value not in ("", []):
            report(message(resource, f"a password is set in the program ({'.'.join(map(snake, path))}); "
                                     "it lives in the program's config and the stack state",
                           "let the service keep it in Secrets Manager: "
                           "manage_master_user_password=True (RDS/Aurora/DocumentDB/Redshift), IAM "
                           "authentication (ElastiCache users, databases), or an IAM master user"))
    found = [reason for name, value in _environment(resource) if (reason := plaintext_secret(name, value))]
    if found:
        report(message(resource, "plaintext secret in the environment: " + "; ".join(sorted(found)),
                       "store it in Secrets Manager and pass the secret's ARN (ECS: the container's "
                       "`secrets` with valueFrom; Lambda: read it at start-up with the ARN in an "
                       "environment variable)"))


secrets_disallow_plaintext = resource_policy(
    name="secrets-disallow-plaintext",
    description="No passwords or tokens in the program and no secret-looking plaintext environment values in "
                "Lambda functions or ECS task definitions.",
    level=MANDATORY, severity=Severity.CRITICAL, types=[*PASSWORDS, FUNCTION, TASK_DEFINITION],
    check=_check,
    remediation="Use manage_master_user_password=True and Secrets Manager references instead of "
                "literal secrets.",
    framework=pci("8.6.2"), tags=["pci-dss", "secrets"])

POLICIES = [secrets_disallow_plaintext]
