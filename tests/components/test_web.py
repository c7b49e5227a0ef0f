"""The web tier: an ALB only CloudFront can reach, and ECS Fargate services sized for the spike."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from components.config import ServiceSpec
from components.defaults import ACCOUNT_PAGE_PATHS, ALB_OIDC_CALLBACK_PATH
from components.web import (
    OTEL_COLLECTOR,
    SecretRef,
    WebServices,
    WebServicesArgs,
    health_path,
    looks_secret,
)
from offline.engine import Resource, Snapshot, run_program, stack_config

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
SCHEDULED = "aws:appautoscaling/scheduledAction:ScheduledAction"
APP = "shop.order_service.app:app"
APM_ENDPOINT = "https://otlp.apm.example.com"
APM_KEY = "arn:aws:secretsmanager:us-east-1:123456789012:secret:apm-otlp-headers-AbCdEf"
SEARCH = ("search path=/search/* cpu=512 memory=1024 baselineRps=5 rpsPerTask=25 "
          "app=shop.search.app:app")


# -- helpers --------------------------------------------------------------------------------------


def web_of(snapshot: Snapshot) -> Resource:
    (web,) = snapshot.of_type("ecommerce:web:WebServices")
    return web


def web_children(snapshot: Snapshot, type_: str) -> list[Resource]:
    return [r for r in snapshot.descendants(web_of(snapshot)) if r.type == type_]


def specs(snapshot: Snapshot) -> dict[str, dict[str, str]]:
    """The configured services: name -> settings, as the stack file says."""
    lines = json.loads(snapshot.config["ecommerce:services"])
    return {line.split()[0]: dict(w.split("=") for w in line.split()[1:]) for line in lines}


def alb_of(snapshot: Snapshot) -> Resource:
    (alb,) = web_children(snapshot, ALB)
    return alb


def by_id(snapshot: Snapshot, type_: str, id_or_arn: str) -> Resource:
    (found,) = [r for r in snapshot.of_type(type_)
                if id_or_arn in (r.outputs.get("id"), r.outputs.get("arn"))]
    return found


def listener(snapshot: Snapshot, port: int) -> Resource:
    (found,) = [r for r in web_children(snapshot, LISTENER) if r.inputs["port"] == port]
    return found


def service_named(snapshot: Snapshot, name: str) -> Resource:
    (service,) = [s for s in web_children(snapshot, SERVICE) if s.name.endswith(f"-{name}")]
    return service


def task_of(snapshot: Snapshot, service: Resource) -> Resource:
    return by_id(snapshot, TASK, service.inputs["taskDefinition"])


def containers(task: Resource) -> list[dict[str, Any]]:
    definitions: list[dict[str, Any]] = json.loads(task.inputs["containerDefinitions"])
    return definitions


def app_container(task: Resource) -> dict[str, Any]:
    (app,) = [c for c in containers(task) if c["name"] != OTEL_COLLECTOR]
    return app


def target_of(snapshot: Snapshot, service: Resource) -> Resource:
    (target,) = [t for t in web_children(snapshot, SCALING_TARGET)
                 if t.inputs["resourceId"].endswith(f"/{service.outputs['name']}")]
    return target


def forward_of(rule: Resource) -> dict[str, Any]:
    actions: list[dict[str, Any]] = rule.inputs["actions"]
    (forward,) = [a for a in actions if a["type"] == "forward"]
    return forward


def rule_forwarding_to(snapshot: Snapshot, target_group_arn: str) -> Resource:
    (rule,) = [r for r in web_children(snapshot, RULE) if forward_of(r)["targetGroupArn"] == target_group_arn]
    return rule


def subnet_ids(snapshot: Snapshot, role: str) -> list[str]:
    return [s.outputs["id"] for s in snapshot.of_type("aws:ec2/subnet:Subnet")
            if s.inputs["tags"]["subnet-role"] == role]


# -- the ALB --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_alb_is_internet_facing_in_every_public_subnet_and_drops_bad_headers(
        stack: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    alb = alb_of(snapshot)
    assert alb.inputs["loadBalancerType"] == "application"
    assert alb.inputs["internal"] is False
    assert sorted(alb.inputs["subnets"]) == sorted(subnet_ids(snapshot, "public"))
    assert alb.inputs["dropInvalidHeaderFields"] is True


def test_deletion_protection_is_on_in_prod_only(prod: Snapshot, staging: Snapshot) -> None:
    assert alb_of(prod).inputs["enableDeletionProtection"] is True
    assert alb_of(staging).inputs["enableDeletionProtection"] is False


def test_alb_access_logs_go_to_a_private_sse_s3_tls_only_bucket(prod: Snapshot) -> None:
    logs = alb_of(prod).inputs["accessLogs"]
    assert logs["enabled"] is True
    (bucket,) = [b for b in web_children(prod, "aws:s3/bucket:Bucket")
                 if b.outputs["bucket"] == logs["bucket"]]

    def of_bucket(type_: str) -> Resource:
        (found,) = [r for r in prod.of_type(type_) if r.inputs["bucket"] == bucket.outputs["id"]]
        return found

    block = of_bucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[f] is True for f in ("blockPublicAcls", "blockPublicPolicy",
                                                  "ignorePublicAcls", "restrictPublicBuckets"))
    sse = of_bucket("aws:s3/bucketServerSideEncryptionConfiguration:"
                    "BucketServerSideEncryptionConfiguration")
    # ALB access logs accept SSE-S3 only
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"}
    statements = json.loads(of_bucket("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])[
        "Statement"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s.get("Condition") for s in statements
                                                          if s["Effect"] == "Deny"]
    (grant,) = [s for s in statements if s["Effect"] == "Allow"]
    assert grant["Action"] == "s3:PutObject"
    assert grant["Principal"]["AWS"] == "arn:aws:iam::127311923021:root"  # ELB in us-east-1


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_alb_admits_only_https_from_cloudfront(stack: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    (group_id,) = alb_of(snapshot).inputs["securityGroups"]
    group = by_id(snapshot, SG, group_id)
    (ingress,) = group.inputs["ingress"]
    assert (ingress["protocol"], ingress["fromPort"], ingress["toPort"]) == ("tcp", 443, 443)
    assert ingress["prefixListIds"] == ["pl-3b927c52"]  # com.amazonaws.global.cloudfront.origin-facing
    assert not ingress.get("cidrBlocks") and not ingress.get("ipv6CidrBlocks")
    # and no separately managed rule opens it either
    for type_ in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                  "aws:ec2/securityGroupRule:SecurityGroupRule"):
        assert not [r for r in snapshot.of_type(type_)
                    if r.inputs.get("securityGroupId") == group_id]


def test_https_uses_tls_1_2_or_1_3_and_answers_403_by_default(prod: Snapshot) -> None:
    https = listener(prod, 443)
    assert https.inputs["protocol"] == "HTTPS"
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https.inputs["certificateArn"] == prod.config["ecommerce:originCertificateArn"]
    (default,) = https.inputs["defaultActions"]
    assert default["type"] == "fixed-response"
    assert default["fixedResponse"]["statusCode"] == "403"


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_port_80_only_redirects_to_https(stack: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    http = listener(snapshot, 80)
    assert http.inputs["protocol"] == "HTTP"
    (action,) = http.inputs["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"] == {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}
    assert not [r for r in snapshot.of_type(RULE)
                if r.inputs["listenerArn"] == http.outputs["arn"]]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_route_requires_the_origin_header_cloudfront_adds(stack: str,
                                                                request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    (distribution,) = snapshot.of_type("aws:cloudfront/distribution:Distribution")
    (app_origin,) = [o for o in distribution.inputs["origins"] if o["originId"] == "app"]
    (header,) = app_origin["customHeaders"]
    https = listener(snapshot, 443)
    rules = web_children(snapshot, RULE)
    assert len(rules) >= len(specs(snapshot))
    for rule in rules:
        assert rule.inputs["listenerArn"] == https.outputs["arn"]
        assert {"httpHeader": {"httpHeaderName": header["name"], "values": [header["value"]]}} \
            in rule.inputs["conditions"]


def test_paths_route_to_their_services_and_the_storefront_takes_the_rest(prod: Snapshot) -> None:
    priorities = {}
    for name, settings in specs(prod).items():
        (balancer, *_) = service_named(prod, name).inputs["loadBalancers"]
        rule = rule_forwarding_to(prod, balancer["targetGroupArn"])
        (paths,) = [c["pathPattern"]["values"] for c in rule.inputs["conditions"]
                    if "pathPattern" in c]
        signs_in = [ALB_OIDC_CALLBACK_PATH] if name == "admin" else []  # the IdP's way back
        # the account pages are the order service's (it keeps the accounts and writes)
        account_pages = list(ACCOUNT_PAGE_PATHS) if name == "order-api" else []
        assert paths == [settings["path"], *account_pages, *signs_in]
        priorities[settings["path"]] = rule.inputs["priority"]
    assert priorities["/*"] == max(r.inputs["priority"] for r in web_children(prod, RULE))
    assert set(priorities) == {"/*", "/api/*", "/admin/*"}


def test_checkout_has_its_own_target_group_matched_before_the_api(prod: Snapshot) -> None:
    balancers = service_named(prod, "order-api").inputs["loadBalancers"]
    assert len(balancers) == 2
    rules = {b["targetGroupArn"]: rule_forwarding_to(prod, b["targetGroupArn"])
             for b in balancers}
    (checkout,) = [r for r in rules.values()
                   if "/api/checkout" in r.inputs["conditions"][0]["pathPattern"]["values"]]
    (api,) = [r for r in rules.values() if r is not checkout]
    assert checkout.inputs["priority"] < api.inputs["priority"]


def test_target_groups_check_each_service_s_health_path(prod: Snapshot) -> None:
    for name, settings in specs(prod).items():
        for balancer in service_named(prod, name).inputs["loadBalancers"]:
            group = by_id(prod, TARGET_GROUP, balancer["targetGroupArn"])
            assert group.inputs["targetType"] == "ip"
            check = group.inputs["healthCheck"]
            expected = "/health" if settings["path"] == "/*" else \
                settings["path"].removesuffix("/*") + "/health"
            assert check["enabled"] is True and check["path"] == expected
            assert check["matcher"] == "200"


# -- the services ---------------------------------------------------------------------------------


def test_the_cluster_has_container_insights(prod: Snapshot) -> None:
    (cluster,) = web_children(prod, "aws:ecs/cluster:Cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_service_runs_two_or_more_tasks_in_private_subnets_of_every_az(
        stack: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    private = subnet_ids(snapshot, "private")
    azs = {s.inputs["availabilityZone"] for s in snapshot.of_type("aws:ec2/subnet:Subnet")
           if s.outputs["id"] in private}
    assert len(azs) >= 2
    for name in specs(snapshot):
        service = service_named(snapshot, name)
        network = service.inputs["networkConfiguration"]
        assert sorted(network["subnets"]) == sorted(private)
        assert network["assignPublicIp"] is False
        assert service.inputs["launchType"] == "FARGATE"
        assert service.inputs["desiredCount"] >= 2
        assert target_of(snapshot, service).inputs["minCapacity"] >= 2
        assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert service.inputs["deploymentMinimumHealthyPercent"] == 100
        assert list(service.request.ignoreChanges) == ["desiredCount"]  # autoscaling owns it


def test_tasks_reach_only_what_they_need_and_only_the_alb_reaches_them(prod: Snapshot) -> None:
    (alb_group_id,) = alb_of(prod).inputs["securityGroups"]
    found: list[Resource | None] = [*prod.of_type("ecommerce:data:DataClients")] or [None]
    (data_clients,) = found
    for name in specs(prod):
        groups = service_named(prod, name).inputs["networkConfiguration"]["securityGroups"]
        own = by_id(prod, SG, groups[0])
        for ingress in own.inputs["ingress"]:
            assert ingress["securityGroups"] == [alb_group_id]
            assert not ingress.get("cidrBlocks")
        public = [e for e in own.inputs["egress"] if "0.0.0.0/0" in e.get("cidrBlocks", [])]
        assert [(e["fromPort"], e["toPort"]) for e in public] == [(443, 443)]
        if data_clients is not None:  # the group the data stores admit
            assert len(groups) == 2


def test_each_service_has_its_own_roles_repository_and_log_group(prod: Snapshot) -> None:
    seen: set[str] = set()
    for name, settings in specs(prod).items():
        task = task_of(prod, service_named(prod, name))
        roles = {task.inputs["taskRoleArn"], task.inputs["executionRoleArn"]}
        assert len(roles) == 2 and not roles & seen
        seen |= roles
        assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
        assert task.inputs["networkMode"] == "awsvpc"
        assert (task.inputs["cpu"], task.inputs["memory"]) == (settings.get("cpu", "512"),
                                                               settings.get("memory", "1024"))
        app = app_container(task)
        repository, digest = app["image"].split("@", 1)  # pinned: tests/components/test_images.py
        assert digest.startswith("sha256:")
        (repo,) = [r for r in web_children(prod, "aws:ecr/repository:Repository")
                   if r.outputs["repositoryUrl"] == repository]
        # every tag immutable but the program's own content tags (components/images.py)
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
        assert repo.inputs["imageTagMutabilityExclusionFilters"] == [
            {"filter": "src-*", "filterType": "WILDCARD"}]
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repo.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
        group_name = app["logConfiguration"]["options"]["awslogs-group"]
        (group,) = [g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")
                    if g.outputs["name"] == group_name]
        assert group.inputs["retentionInDays"] == int(prod.config["ecommerce:logRetentionDays"])
        assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert prod.outputs["ecrRepositoryUrls"].keys() == specs(prod).keys()


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_containers_have_read_only_root_file_systems_and_health_checks(
        stack: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    for task in web_children(snapshot, TASK):
        for container in containers(task):
            assert container["readonlyRootFilesystem"] is True, container["name"]
            assert container["healthCheck"]["command"], container["name"]
        app = app_container(task)
        assert app["essential"] is True
        assert {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False} in \
            app["mountPoints"]
        assert any(health_path_in(app, p) for p in ("/health", "/api/health", "/admin/health"))


def health_path_in(container: dict[str, Any], path: str) -> bool:
    return repr(path) in container["healthCheck"]["command"][-1]


_SECRET_VALUE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$|^sk_(live|test)_|-----BEGIN|"
                           r"^[A-Za-z0-9+/=_-]{40,}$")


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_task_definition_has_a_plaintext_secret_in_its_environment(stack: str,
                                                                      request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    (version,) = snapshot.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    for task in web_children(snapshot, TASK):
        for container in containers(task):
            for variable in container.get("environment", []):
                assert not looks_secret(variable["name"]), variable
                assert not _SECRET_VALUE.search(variable["value"]), variable
                assert variable["value"] != version.outputs["secretString"]
            for secret in container.get("secrets", []):
                assert secret["valueFrom"].startswith("arn:aws:secretsmanager:")


# -- autoscaling ----------------------------------------------------------------------------------


def test_prod_max_capacity_serves_the_spike_by_the_documented_rule(prod: Snapshot) -> None:
    spike = int(prod.config["ecommerce:spikeFactor"])
    assert spike == 20
    for name, settings in specs(prod).items():
        target = target_of(prod, service_named(prod, name))
        baseline, per_task = float(settings["baselineRps"]), float(settings["rpsPerTask"])
        minimum = int(settings.get("minTasks", 2))
        # docs/config.md: max(minTasks, ceil(baselineRps x spikeFactor x 1.25 / rpsPerTask))
        expected = max(minimum, math.ceil(baseline * spike * 1.25 / per_task))
        assert target.inputs["maxCapacity"] == expected
        assert target.inputs["minCapacity"] == minimum
        assert target.inputs["maxCapacity"] * per_task >= baseline * spike


def test_services_track_cpu_and_requests_per_task(prod: Snapshot) -> None:
    alb = alb_of(prod)
    for name, settings in specs(prod).items():
        service = service_named(prod, name)
        target = target_of(prod, service)
        policies = {p.inputs["targetTrackingScalingPolicyConfiguration"][
                        "predefinedMetricSpecification"]["predefinedMetricType"]: p
                    for p in web_children(prod, SCALING_POLICY)
                    if p.inputs["resourceId"] == target.inputs["resourceId"]}
        assert set(policies) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
        requests = policies["ALBRequestCountPerTarget"].inputs[
            "targetTrackingScalingPolicyConfiguration"]
        group = by_id(prod, TARGET_GROUP, service.inputs["loadBalancers"][0]["targetGroupArn"])
        assert requests["predefinedMetricSpecification"]["resourceLabel"] == \
            f"{alb.outputs['arnSuffix']}/{group.outputs['arnSuffix']}"
        assert requests["targetValue"] == float(settings["rpsPerTask"]) * 60  # per minute


@pytest.fixture(scope="module")
def scale_outs() -> tuple[Snapshot, datetime, datetime, datetime]:
    """Prod with a Black Friday window still to come and last year's, ended ten days ago,
    whatever today is."""
    now = datetime.now(UTC)
    start = (now + timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=4, hours=8)
    ended = (now - timedelta(days=10)).replace(microsecond=0)
    windows = [f"black-friday-past start={ended - timedelta(days=4):%Y-%m-%dT%H:%M:%SZ} "
               f"end={ended:%Y-%m-%dT%H:%M:%SZ} minTasksFactor=4",
               f"black-friday start={start:%Y-%m-%dT%H:%M:%SZ} end={end:%Y-%m-%dT%H:%M:%SZ} "
               "minTasksFactor=4"]
    snapshot = run_program("prod", overrides={"ecommerce:scheduledScaleOuts": windows})
    return snapshot, start, end, ended


def test_black_friday_multiplies_the_minimum_then_restores_it(
        scale_outs: tuple[Snapshot, datetime, datetime, datetime], staging: Snapshot) -> None:
    assert not web_children(staging, SCHEDULED)  # nothing scheduled there
    snapshot, start_at, end_at, _ = scale_outs
    for name in specs(snapshot):
        target = target_of(snapshot, service_named(snapshot, name))
        actions = {a.name.rsplit("-", 1)[1]: a for a in web_children(snapshot, SCHEDULED)
                   if a.inputs["resourceId"] == target.inputs["resourceId"]}
        assert set(actions) == {"start", "end"}
        start, end = actions["start"].inputs, actions["end"].inputs
        assert start["schedule"] == f"at({start_at:%Y-%m-%dT%H:%M:%S})" and start["timezone"] == "UTC"
        assert end["schedule"] == f"at({end_at:%Y-%m-%dT%H:%M:%S})"
        minimum, maximum = target.inputs["minCapacity"], target.inputs["maxCapacity"]
        assert start["scalableTargetAction"] == {"minCapacity": minimum * 4,
                                                 "maxCapacity": max(maximum, minimum * 4)}
        assert end["scalableTargetAction"] == {"minCapacity": minimum, "maxCapacity": maximum}


def test_a_window_that_has_ended_is_dropped_with_a_one_line_warning(
        scale_outs: tuple[Snapshot, datetime, datetime, datetime]) -> None:
    # GIVEN last year's window, ended ten days ago, still in the stack file
    snapshot, _, _, ended = scale_outs
    # THEN the program ran, schedules nothing for it, and says once, on one line, what it dropped
    assert not [a for a in web_children(snapshot, SCHEDULED) if "-black-friday-past-" in a.name]
    (warning,) = [w for w in snapshot.warnings if "scheduledScaleOuts" in w]
    assert warning.startswith("Pulumi.prod.yaml: ecommerce:scheduledScaleOuts[0] black-friday-past "
                              f"ended {ended:%Y-%m-%dT%H:%M:%SZ}: dropped")
    assert "\n" not in warning


# -- config changes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def four_services() -> Snapshot:
    """Prod after a fourth service is added to the config."""
    lines = json.loads(stack_config("prod")[0]["ecommerce:services"])
    return run_program("prod", overrides={"ecommerce:services": [*lines, SEARCH]})


def test_a_fourth_service_gets_everything_the_others_have(prod: Snapshot,
                                                          four_services: Snapshot) -> None:
    for type_ in (SERVICE, TASK, "aws:ecr/repository:Repository", SCALING_TARGET, RULE,
                  TARGET_GROUP, "aws:iam/role:Role"):
        assert len(web_children(four_services, type_)) > len(web_children(prod, type_)), type_
    search = service_named(four_services, "search")
    assert search.inputs["networkConfiguration"]["assignPublicIp"] is False
    target = target_of(four_services, search)
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 5)  # 5*20*1.25/25
    rule = rule_forwarding_to(four_services, search.inputs["loadBalancers"][0]["targetGroupArn"])
    assert {"pathPattern": {"values": ["/search/*"]}} in rule.inputs["conditions"]
    assert any("httpHeader" in c for c in rule.inputs["conditions"])
    assert "search" in four_services.outputs["ecrRepositoryUrls"]
    # and CloudFront sends /search/* to the ALB uncached
    (distribution,) = four_services.of_type("aws:cloudfront/distribution:Distribution")
    assert "/search/*" in [b["pathPattern"] for b in distribution.inputs["orderedCacheBehaviors"]]


@pytest.fixture(scope="module")
def with_apm() -> Snapshot:
    return run_program("staging", overrides={"ecommerce:apmOtlpEndpoint": APM_ENDPOINT,
                                             "ecommerce:apmApiKeySecretArn": APM_KEY})


def test_every_task_has_a_collector_sidecar_sending_to_x_ray_by_default(
        staging: Snapshot) -> None:
    for task in web_children(staging, TASK):
        (collector,) = [c for c in containers(task) if c["name"] == OTEL_COLLECTOR]
        assert "aws-otel-collector" in collector["image"]
        config = json.loads({e["name"]: e["value"] for e in collector["environment"]}[
            "AOT_CONFIG_CONTENT"])
        assert config["service"]["pipelines"]["traces"]["exporters"] == ["awsxray"]
        env = {e["name"]: e["value"] for e in app_container(task)["environment"]}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    for name in specs(staging):
        task = task_of(staging, service_named(staging, name))
        role = by_id(staging, "aws:iam/role:Role", task.inputs["taskRoleArn"])
        assert [a for a in staging.of_type(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == role.outputs["name"]
            and a.inputs["policyArn"].endswith("/AWSXRayDaemonWriteAccess")]


def test_an_apm_reaches_every_container_with_its_key_as_a_secret_reference(
        with_apm: Snapshot) -> None:
    for task in web_children(with_apm, TASK):
        for container in containers(task):
            env = {e["name"]: e["value"] for e in container["environment"]}
            secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == APM_ENDPOINT
            assert secrets["OTEL_EXPORTER_OTLP_HEADERS"] == APM_KEY
            assert APM_KEY not in env.values()
        # the execution role fetches the key; nothing else may
        role = by_id(with_apm, "aws:iam/role:Role", task.inputs["executionRoleArn"])
        (policy,) = [p for p in with_apm.of_type("aws:iam/rolePolicy:RolePolicy")
                     if p.inputs["role"] == role.outputs["id"]]
        statements = json.loads(policy.inputs["policy"])["Statement"]
        (read,) = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
        assert read["Resource"] == [APM_KEY]


# -- the component's guards -----------------------------------------------------------------------


def args(**changes: object) -> WebServicesArgs:
    base: dict[str, Any] = {
        "services": (ServiceSpec(name="storefront", path="/*", cpu=512, memory=1024, app=APP),
                     ServiceSpec(name="order-api", path="/api/*", cpu=512, memory=1024, app=APP)),
        "spike_factor": 20, "region": "us-east-1", "vpc_id": "vpc-1",
        "vpc_cidr": "10.0.0.0/16", "public_subnet_ids": ["subnet-a", "subnet-b"],
        "private_subnet_ids": ["subnet-c", "subnet-d"],
        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
        "origin_header_name": "X-Origin-Verify", "origin_header_value": "v",
        "log_retention_days": 30, "logs_kms_key_arn": "arn:aws:kms:us-east-1:1:key/k",
        "deletion_protection": False}
    return WebServicesArgs(**{**base, **changes})


@pytest.mark.parametrize(("changes", "message"), [
    ({"environment": {"order-api": {"DB_PASSWORD": "hunter2"}}}, "looks like a secret"),
    ({"environment": {"order-api": {"STRIPE_API_KEY": "sk_live_x"}}}, "looks like a secret"),
    ({"environment": {"checkout": {"A": "b"}}}, "unknown services"),
    ({"environment": {"order-api": {"OTEL_EXPORTER_OTLP_ENDPOINT": "x"}}}, "set by the web tier"),
    ({"environment": {"order-api": {"A": "1"}},
      "secrets": {"order-api": {"A": SecretRef(secret_arn="arn")}}}, "both as environment"),
    ({"private_subnet_ids": ["subnet-c"]}, "at least two AZs"),
    ({"services": (ServiceSpec(name="order-api", path="/api/*", cpu=512, memory=1024, app=APP),)},
     "default route"),
])
def test_the_component_refuses_unsafe_arguments_before_making_anything(
        changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebServices("web", args(**changes))


def test_references_to_secrets_are_plain_environment() -> None:
    assert not looks_secret("STRIPE_SECRET_ARN")
    assert looks_secret("STRIPE_SECRET")
    assert health_path(ServiceSpec(name="x", path="/api/*", cpu=256, memory=512, app=APP)) == \
        "/api/health"


# -- staff sign-in at the ALB ---------------------------------------------------------------------


def test_the_admin_rule_signs_staff_in_with_the_configured_oidc_provider_before_forwarding(
        prod: Snapshot) -> None:
    cfg = prod.config
    admin = service_named(prod, "admin")
    rule = rule_forwarding_to(prod, admin.inputs["loadBalancers"][0]["targetGroupArn"])
    authenticate, forward = sorted(rule.inputs["actions"], key=lambda a: a["order"])
    assert (authenticate["type"], forward["type"]) == ("authenticate-oidc", "forward")
    oidc = authenticate["authenticateOidc"]
    assert oidc["issuer"] == cfg["ecommerce:adminOidcIssuer"]
    assert oidc["clientId"] == cfg["ecommerce:adminOidcClientId"]
    assert oidc["authorizationEndpoint"] == cfg["ecommerce:adminOidcAuthorizationEndpoint"]
    assert oidc["tokenEndpoint"] == cfg["ecommerce:adminOidcTokenEndpoint"]
    assert oidc["userInfoEndpoint"] == cfg["ecommerce:adminOidcUserInfoEndpoint"]
    assert oidc["onUnauthenticatedRequest"] == "authenticate" and "openid" in oidc["scope"].split()
    assert oidc["sessionTimeout"] <= 12 * 3600


def test_the_client_secret_reaches_the_alb_only_and_only_as_a_secret(prod: Snapshot) -> None:
    from tests.components.test_edge import is_secret_somewhere

    admin = service_named(prod, "admin")
    rule = rule_forwarding_to(prod, admin.inputs["loadBalancers"][0]["targetGroupArn"])
    secret = next(a for a in rule.inputs["actions"] if a["type"] == "authenticate-oidc")[
        "authenticateOidc"]["clientSecret"]
    assert secret and is_secret_somewhere(rule, secret)  # read from Secrets Manager, kept secret
    carriers = [r for r in prod.custom() if secret in json.dumps(r.inputs)]
    assert carriers == [rule]  # no task definition, no environment, nothing else
    assert secret not in json.dumps(prod.outputs)


def test_the_admin_learns_what_it_needs_to_verify_the_signed_claims(prod: Snapshot) -> None:
    [alb] = web_children(prod, ALB)
    env = {v["name"]: v["value"] for v in app_container(task_of(prod, service_named(prod, "admin")))[
        "environment"]}
    assert env["ALB_ARN"] == alb.outputs["arn"]
    assert env["OIDC_ISSUER"] == prod.config["ecommerce:adminOidcIssuer"]
    assert env["OIDC_CLIENT_ID"] == prod.config["ecommerce:adminOidcClientId"]
    assert (env["ADMIN_ROLES_CLAIM"], env["ADMIN_EDITOR_GROUP"], env["ADMIN_VIEWER_GROUP"]) == (
        "groups", "shop-editors", "shop-viewers")
    others = app_container(task_of(prod, service_named(prod, "storefront")))["environment"]
    assert "ALB_ARN" not in {v["name"] for v in others}


def test_the_listener_also_serves_the_shops_own_certificate(prod: Snapshot) -> None:
    (extra,) = web_children(prod, "aws:lb/listenerCertificate:ListenerCertificate")
    assert extra.inputs["listenerArn"] == listener(prod, 443).outputs["arn"]
    assert extra.inputs["certificateArn"] == prod.config["ecommerce:certificateArn"]
