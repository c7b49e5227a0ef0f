"""What each ECS service's code may do: its own database user, and only the order service charges."""

from __future__ import annotations

import json
from typing import Any

from offline.engine import Resource, Snapshot


def task_definition(snapshot: Snapshot, service: str) -> Resource:
    (task,) = [t for t in snapshot.of_type("aws:ecs/taskDefinition:TaskDefinition")
               if t.name.endswith(service)]
    return task


def app_environment(snapshot: Snapshot, service: str) -> dict[str, str]:
    app = json.loads(task_definition(snapshot, service).inputs["containerDefinitions"])[0]
    return {pair["name"]: pair["value"] for pair in app["environment"]}


def task_statements(snapshot: Snapshot, service: str) -> dict[str, dict[str, Any]]:
    role_arn = task_definition(snapshot, service).inputs["taskRoleArn"]
    role = next(r for r in snapshot.of_type("aws:iam/role:Role") if r.outputs["arn"] == role_arn)
    policies = snapshot.where("aws:iam/rolePolicy:RolePolicy", role=role.outputs["id"])
    return {s["Sid"]: s for p in policies for s in json.loads(p.inputs["policy"])["Statement"]}


def test_each_service_logs_in_as_its_own_user_through_the_proxy_with_iam(prod: Snapshot) -> None:
    (proxy,) = prod.of_type("aws:rds/proxy:Proxy")
    (readers,) = prod.of_type("aws:rds/proxyEndpoint:ProxyEndpoint")
    assert readers.inputs["targetRole"] == "READ_ONLY"
    # the storefront reads the readers only, never the writer; the others need the writer
    for service, host in (("storefront", readers.outputs["endpoint"]),
                          ("order-api", proxy.outputs["endpoint"]), ("admin", proxy.outputs["endpoint"])):
        env = app_environment(prod, service)
        user = service.replace("-", "_")
        assert (env["PGHOST"], env["PGUSER"], env["DB_IAM_AUTH"]) == (host, user, "true")
        assert env["PGSSLMODE"] == "verify-full"
        connect = task_statements(prod, service)["DatabaseThroughTheProxy"]
        assert connect["Action"] == "rds-db:connect"
        assert connect["Resource"].endswith(f"/{user}")


def test_only_the_order_service_reads_the_payment_key_and_writes_carts(prod: Snapshot) -> None:
    key_arn = prod.config["ecommerce:paymentSecretArn"]
    order_api = task_statements(prod, "order-api")
    assert order_api["PaymentProviderKey"]["Resource"] == key_arn
    assert app_environment(prod, "order-api")["STRIPE_SECRET_ARN"] == key_arn
    assert set(order_api["Carts"]["Action"]) == {"dynamodb:GetItem", "dynamodb:PutItem",
                                                 "dynamodb:UpdateItem"}
    assert order_api["Carts"]["Resource"].endswith(prod.outputs["cartsTableName"])
    for service in ("storefront", "admin"):
        statements = task_statements(prod, service)
        assert "PaymentProviderKey" not in statements and "Carts" not in statements
        assert "STRIPE_SECRET_ARN" not in app_environment(prod, service)
