"""The functions' code comes from app_code/: a code change changes the deployed function."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from components.lambda_code import (
    APP_CODE_DIR,
    Access,
    CodeBundle,
    FunctionSettings,
    FunctionSpec,
    LambdaCodeError,
    dependencies_layer_build_command,
    dependency_requirements,
    pinned_requirement,
    validate_function,
)
from offline.engine import Snapshot
from tests.components.event_flow import FUNCTION, as_list, role_policy_of, statements
from tests.support.stacks import RunStack

HANDLER = '''from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}
'''
APM = {"ecommerce:apmOtlpEndpoint": "https://otlp.apm.example.com:4318",
       "ecommerce:apmApiKeySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:apm-key-AbCdEf"}


@pytest.fixture
def code_root(tmp_path: Path) -> Path:
    """A small copy of the app_code layout: one consumer, plus what the archive must leave out."""
    root = tmp_path / "app_code"
    files = {"shop/__init__.py": "", "shop/consumers/__init__.py": "",
             "shop/consumers/fulfillment.py": HANDLER,
             "shop/consumers/helpers.py": "VALUE = 1\n",
             "shop/migrations/0001_init.sql": "CREATE TABLE t (id int);\n",
             "shop/consumers/__pycache__/fulfillment.cpython-312.pyc": "compiled",
             "shop/tests/test_fulfillment.py": "def test_x(): pass\n",
             "requirements.txt": "boto3==1.0\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_archive_holds_the_package_without_caches_or_tests(code_root: Path) -> None:
    bundle = CodeBundle.from_directory(code_root)
    assert bundle.files == ("shop/__init__.py", "shop/consumers/__init__.py",
                            "shop/consumers/fulfillment.py", "shop/consumers/helpers.py",
                            "shop/migrations/0001_init.sql")
    assert set(bundle.archive().assets) == set(bundle.files)


def test_the_content_hash_changes_when_a_file_changes_and_only_then(code_root: Path) -> None:
    # GIVEN the bundle of a copy of the code
    before = CodeBundle.from_directory(code_root)
    assert CodeBundle.from_directory(code_root).sha256 == before.sha256  # stable
    # WHEN a handler's code changes
    (code_root / "shop/consumers/fulfillment.py").write_text(HANDLER + "\n# v2\n")
    changed = CodeBundle.from_directory(code_root)
    # THEN the hash the function is deployed with changes; caches and tests do not count
    assert changed.sha256 != before.sha256
    (code_root / "shop/tests/test_fulfillment.py").write_text("def test_y(): pass\n")
    (code_root / "shop/consumers/__pycache__/helpers.cpython-312.pyc").write_text("x")
    assert CodeBundle.from_directory(code_root).sha256 == changed.sha256
    # AND a new file counts too
    (code_root / "shop/consumers/email.py").write_text(HANDLER)
    assert CodeBundle.from_directory(code_root).sha256 != changed.sha256


@pytest.mark.parametrize(("handler", "message"), [
    ("shop.consumers.returns.handler",
     "consumer 'returns': handler 'shop.consumers.returns.handler' needs module "
     "app_code/shop/consumers/returns.py, which does not exist"),
    ("shop.consumers.helpers.handler",
     "consumer 'returns': handler 'shop.consumers.helpers.handler': "
     "app_code/shop/consumers/helpers.py defines no top-level 'handler'"),
    ("shop.tests.test_fulfillment.test_x",  # tests are not deployed
     "consumer 'returns': handler 'shop.tests.test_fulfillment.test_x' needs module "
     "app_code/shop/tests/test_fulfillment.py, which does not exist"),
])
def test_a_handler_that_is_not_in_the_code_fails_with_one_line(code_root: Path, handler: str,
                                                               message: str) -> None:
    bundle = CodeBundle.from_directory(code_root)
    bundle.require_handler("shop.consumers.fulfillment.handler", owner="consumer 'fulfillment'")
    with pytest.raises(LambdaCodeError) as raised:
        bundle.require_handler(handler, owner="consumer 'returns'")
    assert str(raised.value) == message


@pytest.mark.parametrize("statement", [
    {"Sid": "Anything", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
    {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": ["arn:aws:sqs:::q"]},
    {"Sid": "Mixed", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": ["arn:x", "*"]},
])
def test_a_function_may_not_be_granted_a_wildcard(code_root: Path, statement: dict[str, Any]) -> None:
    settings = FunctionSettings(code=CodeBundle.from_directory(code_root), region="us-east-1",
                                account_id="123456789012", layers=(), logs_kms_key_arn="arn:key",
                                log_retention_days=30)
    spec = FunctionSpec(handler="shop.consumers.fulfillment.handler", owner="consumer 'x'",
                        workload="x", timeout=30, memory=512, vpc=False)
    validate_function(spec, settings)
    with pytest.raises(ValueError, match=f"consumer 'x': statement '{statement['Sid']}' grants"):
        validate_function(replace(spec, access=Access(statements=(statement,))), settings)


def test_every_function_is_deployed_from_app_code_with_its_content_hash(prod: Snapshot) -> None:
    bundle = CodeBundle.from_directory()
    functions = prod.of_type(FUNCTION)
    assert len(functions) >= 7
    for function in functions:
        assets = function.inputs["code"]["assets"]
        assert set(assets) == set(bundle.files)
        assert all(Path(a["path"]) == APP_CODE_DIR / name for name, a in assets.items())
        assert function.inputs["sourceCodeHash"] == bundle.sha256


def test_third_party_code_comes_from_the_powertools_layer_and_the_pinned_dependencies_layer(
        prod: Snapshot) -> None:
    [layer] = prod.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layer.inputs["compatibleRuntimes"] == ["python3.12"]
    assert layer.inputs["compatibleArchitectures"] == ["arm64"]
    for pin in dependency_requirements():
        assert pin in layer.inputs["description"]
    for function in prod.of_type(FUNCTION):
        powertools, dependencies = function.inputs["layers"][:2]
        assert ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:" in powertools
        assert dependencies == layer.outputs["arn"]  # after Powertools: the app's pins win


def test_the_dependencies_layer_is_built_for_lambda_from_the_app_pins() -> None:
    command = dependencies_layer_build_command(Path("/tmp/layer"))
    assert command[command.index("--target") + 1] == "/tmp/layer/python"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms and all(p.endswith("_aarch64") for p in platforms)
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command
    pins = dependency_requirements()
    assert command[-len(pins):] == pins
    assert pinned_requirement("psycopg") in pins
    assert all(not p.startswith(("boto3", "fastapi", "uvicorn", "aws-lambda-powertools"))
               for p in pins)


def test_the_vpc_functions_security_group_has_no_ingress_and_narrow_egress(prod: Snapshot) -> None:
    base = prod.of_type("ecommerce:events:FunctionBase")[0]
    [group] = [r for r in prod.descendants(base) if r.type == "aws:ec2/securityGroup:SecurityGroup"]
    assert group.inputs["ingress"] == []
    vpc = prod.of_type("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"]
    assert {(e["fromPort"], e["toPort"], tuple(e["cidrBlocks"])) for e in group.inputs["egress"]} == {
        (443, 443, ("0.0.0.0/0",)), (5432, 5432, (vpc,)), (6379, 6379, (vpc,))}
    for function in prod.of_type(FUNCTION):
        if "vpcConfig" in function.inputs:
            assert group.outputs["id"] in function.inputs["vpcConfig"]["securityGroupIds"]


def test_an_apm_adds_the_adot_layer_and_a_collector_reading_the_key_by_arn(run_stack: RunStack) -> None:
    # WHEN the stack has an APM configured
    snapshot = run_stack("prod", overrides=APM)
    secret_arn = APM["ecommerce:apmApiKeySecretArn"]
    for function in snapshot.of_type(FUNCTION):
        # THEN every function gets the ADOT layer and its wrapper, still with active tracing
        assert any(":901920570463:layer:aws-otel-python-arm64-" in layer
                   for layer in function.inputs["layers"])
        variables = function.inputs["environment"]["variables"]
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument"
        assert variables["OPENTELEMETRY_COLLECTOR_CONFIG_URI"] == "/var/task/otel-collector.yaml"
        assert function.inputs["tracingConfig"] == {"mode": "Active"}
        # AND the collector reads the key from Secrets Manager; the environment holds no key
        collector = function.inputs["code"]["assets"]["otel-collector.yaml"]["text"]
        assert "endpoint: https://otlp.apm.example.com:4318" in collector
        assert f"${{secretsmanager:{secret_arn}}}" in collector
        assert secret_arn not in str(variables)
        reads = [s for s in statements(role_policy_of(snapshot, function))
                 if "secretsmanager:GetSecretValue" in as_list(s["Action"])
                 # checkout recovery's own key, the migrator's master secret
                 and s.get("Sid") not in ("PaymentProviderKey", "MasterSecret")]
        assert [as_list(s["Resource"]) for s in reads] == [[secret_arn]]
        assert function.inputs["sourceCodeHash"] != CodeBundle.from_directory().sha256
