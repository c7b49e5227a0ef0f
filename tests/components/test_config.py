"""The stack config: both stack files load, every key is declared, every mistake is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.config import (
    ConfigError,
    Environment,
    NatGatewayMode,
    StackConfig,
    parse_stack_config,
)
from offline.engine import PROJECT_DIR, ProgramError, run_program, stack_config


def load(stack: str = "prod", **overrides: object) -> StackConfig:
    values, _ = stack_config(stack, overrides={f"ecommerce:{k}": v for k, v in overrides.items()})
    return parse_stack_config(values, stack=stack)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_each_stack_file_loads_into_typed_config(stack: str) -> None:
    cfg = load(stack)
    assert cfg.environment is Environment(stack)
    assert cfg.network.az_count >= 2
    assert cfg.spike_factor == 20
    assert cfg.observability.checkout_availability_target == pytest.approx(99.95)
    assert not cfg.multi_region.enabled


def test_prod_gets_a_nat_gateway_per_az_and_staging_shares_one() -> None:
    assert load("prod").network.nat_gateways is NatGatewayMode.PER_AZ
    assert load("staging").network.nat_gateways is NatGatewayMode.SINGLE


@pytest.mark.parametrize("stack_file", sorted(PROJECT_DIR.glob("Pulumi.*.yaml")),
                         ids=lambda p: p.name)
def test_every_project_key_in_a_stack_file_is_declared_in_pulumi_yaml(stack_file: Path) -> None:
    declared = set(yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"])
    keys = (yaml.safe_load(stack_file.read_text()).get("config") or {}).keys()
    project_keys = {k.split(":", 1)[1] for k in keys if k.startswith("ecommerce:")}
    assert project_keys <= declared, project_keys - declared


def test_every_declaration_has_a_type_and_a_description() -> None:
    for key, declaration in yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())[
            "config"].items():
        assert declaration.get("type") in {"string", "integer", "boolean", "array"}, key
        assert declaration.get("description"), key
        if declaration["type"] == "array":
            assert declaration["items"]["type"] == "string", key


def test_defaults_from_pulumi_yaml_apply_offline() -> None:
    """Staging sets no spikeFactor or azCount: the Pulumi.yaml defaults must reach the program."""
    cfg = load("staging")
    assert cfg.spike_factor == 20
    assert cfg.network.az_count == 2
    assert [s.name for s in cfg.web.services] == ["storefront", "order-api", "admin"]


BAD_CONFIG: list[tuple[dict[str, object], str]] = [
    ({"azCount": 1}, "ecommerce:azCount = 1 is not allowed: must be an integer from 2 to 6"),
    ({"azCount": "two"}, "ecommerce:azCount must be an integer, got 'two'"),
    ({"vpcCidr": "10.0.0.0/33"}, "ecommerce:vpcCidr = '10.0.0.0/33' is not allowed: an IPv4 CIDR"),
    ({"vpcCidr": "10.0.0.0/8"}, "ecommerce:vpcCidr = '10.0.0.0/8' is not allowed: the prefix"),
    ({"natGateways": "none"}, "ecommerce:natGateways = 'none' is not allowed: one of per-az, single"),
    ({"searchVolumeGb": -5}, "ecommerce:searchVolumeGb = -5 is not allowed"),
    ({"cacheNodeCount": 1}, "ecommerce:cacheNodeCount = 1 is not allowed: must be an integer from 2"),
    ({"environment": "qa"}, "ecommerce:environment = 'qa' is not allowed: one of prod, staging"),
    ({"logRetentionDays": 42}, "ecommerce:logRetentionDays = 42 is not allowed: one of 1, 3"),
    ({"backupRetentionDays": 7}, "ecommerce:backupRetentionDays = 7 is not allowed in prod"),
    ({"searchDedicatedMasters": "yes"}, "ecommerce:searchDedicatedMasters must be true or false"),
    ({"alarmEmail": "ops"}, "ecommerce:alarmEmail = 'ops' is not allowed: an email address"),
    ({"services": ["storefront path=/* cpu=300"]},
     "ecommerce:services[0] cpu=300 is not allowed: one of 256, 512"),
    ({"services": ["storefront path=/* colour=blue"]},
     "ecommerce:services[0] has unknown setting 'colour=blue'"),
    ({"services": ["storefront path=/* minTasks=1"]},
     "ecommerce:services[0] minTasks=1 is not allowed: must be from 2"),
    ({"consumers": ["email events=order.shipped"]},
     "ecommerce:consumers[0] events= names unknown event 'order.shipped'"),
    ({"consumers": ["email events=order.placed batchSize=0"]},
     "ecommerce:consumers[0] batchSize=0 is not allowed: must be from 1"),
    ({"consumers": ["email events=order.placed maxReceiveCount=0"]},
     "ecommerce:consumers[0] maxReceiveCount=0 is not allowed: must be from 1"),
    ({"multiRegion": True}, "ecommerce:secondaryRegion is missing"),
    ({"multiRegion": True, "secondaryRegion": "eu-central-1"},
     "ecommerce:multiRegionTrigger is missing"),
    ({"multiRegion": True, "secondaryRegion": "eu-central-1", "multiRegionTrigger": "vibes"},
     "ecommerce:multiRegionTrigger = 'vibes' is not allowed: one of residency-contract"),
    ({"paymentSecretArn": "sk_live_abc"},
     "ecommerce:paymentSecretArn = 'sk_live_abc' is not allowed: a Secrets Manager secret ARN"),
    ({"paymentLookupSecretArn":
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecommerce/prod/stripe-api-key-Xy12Ab"},
     "ecommerce:paymentLookupSecretArn is the charging key paymentSecretArn"),
    ({"checkoutAvailabilityTarget": "100"},
     "ecommerce:checkoutAvailabilityTarget = '100' is not allowed"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_CONFIG,
                         ids=[next(iter(o)) + "-" + str(i) for i, (o, _) in enumerate(BAD_CONFIG)])
def test_a_bad_value_fails_with_one_line_naming_key_stack_file_and_what_is_allowed(
        overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load("prod", **overrides)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith("Pulumi.prod.yaml: ")
    assert message in text


def test_an_unknown_key_is_refused() -> None:
    values, _ = stack_config("prod", overrides={"ecommerce:azCont": 3})
    with pytest.raises(ConfigError, match=r"Pulumi.prod.yaml: ecommerce:azCont is not a known key"):
        parse_stack_config(values, stack="prod")


def test_a_config_mistake_stops_the_program_before_any_resource_exists() -> None:
    with pytest.raises(ProgramError) as error:
        run_program("prod", overrides={"ecommerce:azCount": 1})
    assert str(error.value) == ("Pulumi.prod.yaml: ecommerce:azCount = 1 is not allowed: "
                                "must be an integer from 2 to 6")


def test_prod_max_tasks_serve_the_spike_factor() -> None:
    cfg = load("prod")
    for service in cfg.web.services:
        peak_rps = service.baseline_rps * cfg.spike_factor
        assert service.max_tasks(cfg.spike_factor) * service.rps_per_task >= peak_rps


def test_the_config_reference_documents_every_declared_key() -> None:
    reference = (PROJECT_DIR / "docs" / "config.md").read_text()
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    missing = [key for key in declared if f"`{key}`" not in reference]
    assert not missing, f"docs/config.md does not describe {missing}"


# -- staff sign-in for the admin service --------------------------------------------------------


def test_both_stacks_sign_staff_in_with_their_oidc_provider() -> None:
    for stack in ("prod", "staging"):
        auth = load(stack).admin_auth
        assert auth is not None and auth.issuer.startswith("https://")
        assert auth.client_secret_arn.startswith("arn:aws:secretsmanager:")
        assert (auth.scope, auth.roles_claim, auth.editor_group, auth.viewer_group) == (
            "openid email", "groups", "shop-editors", "shop-viewers")  # the Pulumi.yaml defaults


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"adminOidcIssuer": ""}, "ecommerce:adminOidcIssuer is missing"),
    ({"adminOidcClientSecretArn": ""}, "ecommerce:adminOidcClientSecretArn is missing"),
    ({"adminOidcTokenEndpoint": "http://login.example.com/token"}, "adminOidcTokenEndpoint = "),
    ({"adminOidcClientSecretArn": "my-secret"}, "a Secrets Manager secret ARN"),
    ({"adminOidcScope": "email profile"}, "it must include openid"),
    ({"adminViewerGroup": "shop-editors"}, "must differ from adminEditorGroup"),
    ({"domainName": "", "certificateArn": ""}, "ecommerce:domainName is missing"),
])
def test_a_bad_or_missing_admin_sign_in_setting_is_one_line(overrides: dict[str, object],
                                                            expected: str) -> None:
    with pytest.raises(ConfigError, match="^Pulumi.prod.yaml: ") as raised:
        load("prod", **overrides)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_without_the_admin_service_no_provider_is_needed() -> None:
    services = [line for line in load("prod").web.services if line.name != "admin"]
    lines = [f"{s.name} path={s.path}" for s in services]
    cfg = load("prod", services=lines, adminOidcIssuer="", adminOidcClientSecretArn="")
    assert cfg.admin_auth is None
