"""Run one data-store component alone under the offline engine, built with explicit arguments.

The stacks show the secure defaults; these programs show what an explicit argument changes
(single-AZ, unencrypted), so a weak store can only come from code a reviewer sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path

from components.cache import ProductCacheArgs
from components.database import RelationalDatabaseArgs
from components.search import SearchDomainArgs
from offline.engine import Snapshot, run_program

PROGRAM = Path(__file__).with_name("data_program.py")

VPC = "vpc-0a1b2c3d4e5f60718"
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
SUBNETS = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3")
CLIENT_SG = "sg-0c11e47c11e47c11e"
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555"

_pending: list[Callable[[], object]] = []


def run_component(build: Callable[[], object], stack: str = "staging") -> Snapshot:
    """Run a program whose only content is `build()` (which constructs the component)."""
    _pending.append(build)
    try:
        return run_program(stack, program=PROGRAM)
    finally:
        _pending.clear()


@cache
def three_az_staging() -> Snapshot:
    """Staging over three AZs with three readers and a three-zone search domain (run once)."""
    return run_program("staging", overrides={
        "ecommerce:azCount": 3, "ecommerce:auroraReaderCount": 3,
        "ecommerce:searchZoneCount": 3, "ecommerce:searchDataNodes": 6})


def build_pending() -> None:
    """Called by data_program.py inside the engine."""
    _pending[-1]()


def database_args(**changes: object) -> RelationalDatabaseArgs:
    args = RelationalDatabaseArgs(
        vpc_id=VPC, subnet_ids=SUBNETS, availability_zones=AZS,
        client_security_group_ids=[CLIENT_SG], engine_version="16.4",
        instance_class="db.r6g.large", log_retention_days=30, logs_kms_key_arn=LOGS_KEY)
    return replace(args, **changes)  # type: ignore[arg-type]


def cache_args(**changes: object) -> ProductCacheArgs:
    args = ProductCacheArgs(
        vpc_id=VPC, subnet_ids=SUBNETS, availability_zones=AZS,
        client_security_group_ids=[CLIENT_SG], node_type="cache.t4g.medium",
        log_retention_days=30, logs_kms_key_arn=LOGS_KEY)
    return replace(args, **changes)  # type: ignore[arg-type]


def search_args(**changes: object) -> SearchDomainArgs:
    args = SearchDomainArgs(
        account_id="123456789012", vpc_id=VPC, subnet_ids=SUBNETS, availability_zones=AZS,
        client_security_group_ids=[CLIENT_SG], instance_type="t3.medium.search",
        log_retention_days=30, logs_kms_key_arn=LOGS_KEY)
    return replace(args, **changes)  # type: ignore[arg-type]
