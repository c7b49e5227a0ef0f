"""A wrong bootstrap config stops the program before any resource, with one line naming the key."""

from __future__ import annotations

import pytest

from offline.preview import run_preview
from tests.support.bootstrap import BOOTSTRAP_DIR, BOOTSTRAP_STACK


def _error(**overrides: str) -> str | None:
    result = run_preview(BOOTSTRAP_STACK, project_dir=BOOTSTRAP_DIR, policies=False,
                         overrides={f"ecommerce-bootstrap:{k}": v for k, v in overrides.items()})
    return result.error


@pytest.mark.parametrize(("key", "value", "says"), [
    ("repository", "", "is missing"),
    ("repository", "just-a-name", "must be owner/name of a GitHub repository"),
    ("repository", "owner/name:environment:prod", "must be owner/name"),  # no subject injection
    ("stacks", '["qa"]', "names qa, which stack-inventory.json does not describe"),
    ("stacks", "[]", "must be a non-empty list"),
    ("githubOidcProviderArn", "arn:aws:iam::123456789012:oidc-provider/example.com",
     "is not the ARN of an IAM OIDC provider"),
    ("deploySessionSeconds", "600", "must be an integer from 3600 to 43200"),
])
def test_a_bad_value_is_one_line_naming_the_key_and_the_stack_file(key: str, value: str, says: str) -> None:
    error = _error(**{key: value})

    assert error is not None
    assert error.startswith(f"Pulumi.{BOOTSTRAP_STACK}.yaml: ecommerce-bootstrap:{key} ")
    assert says in error
    assert "\n" not in error


def test_the_shipped_stack_file_is_valid() -> None:
    assert _error() is None
