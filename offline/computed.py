"""What AWS computes for a resource when it is created, as the offline engine's mocks answer it in
update mode: its id, ARN, endpoints and the other outputs the program reads back.

One function per resource type (or per service, where one rule fits every type of it), found in
three tables like the cost estimator's pricers (policies/guardrails/cost/pricers/): by the exact
type token, then by (service, kind), then by service; a type in none of them gets the default (an
ARN and a name). Every value is derived from the resource's logical name, its Region and its
inputs, so the same program gives the same outputs on every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = "123456789012"
"""The account every offline stack is created in."""

EC2_ID_PREFIX = {
    "Vpc": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "InternetGateway": "igw",
    "NatGateway": "nat", "RouteTable": "rtb", "Eip": "eipalloc", "VpcEndpoint": "vpce",
    "FlowLog": "fl", "DefaultSecurityGroup": "sg", "NetworkAcl": "acl",
}
"""The EC2 types whose ids AWS makes up, and each id's prefix."""

NAME_INPUTS = ("name", "bucket", "functionName", "clusterIdentifier", "identifier",
               "replicationGroupId", "domainName", "tableName", "roleName", "topicName",
               "queueName", "repositoryName", "dashboardName", "alarmName", "eventBusName")
"""The inputs that name a resource, in the order one is looked for (`domainName` names a resource
only where its type says so: an OpenSearch domain, not a certificate)."""


def digest(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def uuid_of(*parts: str) -> str:
    """A version-4-shaped UUID derived from `parts`."""
    return f"{digest(*parts, length=8)}-{digest(*parts, 'a', length=4)}-4" \
           f"{digest(*parts, 'b', length=3)}-8{digest(*parts, 'c', length=3)}-" \
           f"{digest(*parts, 'd', length=12)}"


@dataclass(frozen=True)
class Created:
    """A custom resource being created, and what every computed value is derived from."""

    typ: str
    name: str  # the logical name
    inputs: Mapping[str, Any]
    region: str
    seed: str  # the logical name, with the Region when it is not the stack's own
    service: str  # `sqs` of aws:sqs/queue:Queue
    resource: str  # `queue`
    kind: str  # `Queue`
    physical: str  # the name AWS knows it by: the program's name input, or one made up

    @classmethod
    def of(cls, typ: str, name: str, inputs: Mapping[str, Any], region: str, *,
           stack_region: str) -> Created:
        module, _, kind = typ.partition(":")[2].partition(":")
        # the same logical name in another Region (multiRegion) gets its own ids and names
        seed = name if region == stack_region else f"{name}@{region}"
        service, _, resource = module.partition("/")
        physical = next((str(inputs[k]) for k in NAME_INPUTS if isinstance(inputs.get(k), str)
                         and k != "domainName"), f"{name}-{digest(typ, seed, length=7)}")
        return cls(typ=typ, name=name, inputs=inputs, region=region, seed=seed, service=service,
                   resource=resource, kind=kind, physical=physical)

    @property
    def arn(self) -> str:
        """The ARN most services give: `arn:aws:<service>:<region>:<account>:<resource>/<name>`."""
        return f"arn:aws:{self.service}:{self.region}:{ACCOUNT_ID}:{self.resource.lower()}/{self.physical}"

    def named(self, **outputs: Any) -> dict[str, Any]:
        """The default outputs, an ARN and a name, then `outputs` (which may replace the ARN)."""
        return {"arn": self.arn, "name": self.physical, **outputs}


Computed = tuple[str, dict[str, Any]]
"""The resource's id, and the outputs it has beyond its inputs."""
Compute = Callable[[Created], Computed]


def computed_outputs(typ: str, name: str, inputs: Mapping[str, Any], region: str, *,
                     stack_region: str) -> Computed:
    """The id and every output (the inputs, then what AWS computes, then the id) of a resource
    created in `region` of a stack in `stack_region`."""
    created = Created.of(typ, name, inputs, region, stack_region=stack_region)
    compute = (BY_TYPE.get(typ) or BY_KIND.get((created.service, created.kind))
               or BY_SERVICE.get(created.service) or _named)
    resource_id, outputs = compute(created)
    return resource_id, {**inputs, **outputs, "id": resource_id}


# -- the default ------------------------------------------------------------------------------

def _named(c: Created) -> Computed:
    return c.physical, c.named()


# -- by type token ----------------------------------------------------------------------------

def _image(c: Created) -> Computed:
    """docker-build: the pushed image's digest, and `ref` (the first tag at that digest)."""
    tags = [str(t) for t in c.inputs.get("tags") or []]
    context = str((c.inputs.get("context") or {}).get("location", ""))
    image_digest = f"sha256:{hashlib.sha256('/'.join([c.name, context, *tags]).encode()).hexdigest()}"
    ref = f"{tags[0]}@{image_digest}" if tags else ""
    return image_digest, {"digest": image_digest, "ref": ref,
                          "contextHash": digest("context", context, length=64)}


def _s3_bucket(c: Created) -> Computed:
    bucket = str(c.inputs.get("bucket") or f"{c.name}-{digest(c.seed, length=7)}")
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{bucket}.s3.{c.region}.amazonaws.com"}


BY_TYPE: Mapping[str, Compute] = {
    "docker-build:index:Image": _image,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:s3/bucketV2:BucketV2": _s3_bucket,
}


# -- by service and kind ----------------------------------------------------------------------

def _ec2_with_id(c: Created) -> Computed:
    resource_id = f"{EC2_ID_PREFIX[c.kind]}-{digest(c.typ, c.seed, length=17)}"
    out: dict[str, Any] = {"arn": f"arn:aws:ec2:{c.region}:{ACCOUNT_ID}:{c.resource.lower()}/{resource_id}"}
    if c.kind == "Eip":
        out.update(allocationId=resource_id, publicIp=f"3.{int(digest(c.seed, length=2), 16)}.0.1")
    if c.kind == "Vpc":
        out.update(defaultSecurityGroupId=f"sg-{digest('default', c.seed, length=17)}",
                   mainRouteTableId=f"rtb-{digest('main', c.seed, length=17)}")
    return resource_id, out


def _kms_key(c: Created) -> Computed:
    key_id = uuid_of(c.seed)
    return key_id, {"arn": f"arn:aws:kms:{c.region}:{ACCOUNT_ID}:key/{key_id}", "keyId": key_id}


def _log_group(c: Created) -> Computed:
    return c.physical, c.named(arn=f"arn:aws:logs:{c.region}:{ACCOUNT_ID}:log-group:{c.physical}")


def _sqs_queue(c: Created) -> Computed:
    url = f"https://sqs.{c.region}.amazonaws.com/{ACCOUNT_ID}/{c.physical}"
    return url, c.named(arn=f"arn:aws:sqs:{c.region}:{ACCOUNT_ID}:{c.physical}", url=url)


def _sns_topic(c: Created) -> Computed:
    arn = f"arn:aws:sns:{c.region}:{ACCOUNT_ID}:{c.physical}"
    return arn, c.named(arn=arn)


def _global_cluster(c: Created) -> Computed:
    ident = str(c.inputs.get("globalClusterIdentifier") or c.physical)
    return ident, {"arn": f"arn:aws:rds::{ACCOUNT_ID}:global-cluster:{ident}",
                   "globalClusterIdentifier": ident,
                   "globalClusterResourceId": f"cluster-{digest(c.seed, 'global')}",
                   "endpoint": f"{ident}.global-{digest(c.seed, length=12)}.global.rds.amazonaws.com"}


def _cluster_instance(c: Created) -> Computed:
    instance = str(c.inputs.get("identifier") or f"{c.name}-{digest(c.typ, c.seed, length=7)}")
    return instance, c.named(
        arn=f"arn:aws:rds:{c.region}:{ACCOUNT_ID}:db:{instance}", identifier=instance,
        endpoint=f"{instance}.c{digest(c.seed, length=11)}.{c.region}.rds.amazonaws.com", port=5432)


def _health_check(c: Created) -> Computed:
    resource_id = uuid_of(c.seed)
    return resource_id, {"arn": f"arn:aws:route53:::healthcheck/{resource_id}"}


def _record(c: Created) -> Computed:
    fqdn = str(c.inputs.get("name") or c.physical)
    resource_id = "_".join(str(part) for part in (
        c.inputs.get("zoneId"), fqdn, c.inputs.get("type"), c.inputs.get("setIdentifier")) if part)
    return resource_id, {"fqdn": fqdn}


def _cache_user(c: Created) -> Computed:
    """An ElastiCache user or user group: its id is the one the program gives."""
    ident = str(c.inputs.get("userId") or c.inputs.get("userGroupId") or c.physical)
    return ident, c.named(arn=f"arn:aws:elasticache:{c.region}:{ACCOUNT_ID}:{c.resource.lower()}:{ident}")


def _opensearch_domain(c: Created) -> Computed:
    domain = str(c.inputs.get("domainName") or c.physical)
    return c.physical, c.named(
        arn=f"arn:aws:es:{c.region}:{ACCOUNT_ID}:domain/{domain}",
        endpoint=f"vpc-{domain}-{digest(c.seed, length=26)}.{c.region}.es.amazonaws.com",
        domainId=f"{ACCOUNT_ID}/{domain}")


def _distribution(c: Created) -> Computed:
    dist_id = f"E{digest(c.seed, length=13).upper()}"
    return dist_id, {"arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{dist_id}",
                     "domainName": f"d{digest(c.seed, length=13)}.cloudfront.net",
                     "hostedZoneId": "Z2FDTNDATAQYW2", "etag": digest(c.seed, "etag")}


def _function(c: Created) -> Computed:
    arn = f"arn:aws:lambda:{c.region}:{ACCOUNT_ID}:function:{c.physical}"
    invoke = f"arn:aws:apigateway:{c.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return c.physical, c.named(arn=arn, invokeArn=invoke, qualifiedArn=f"{arn}:$LATEST")


def _repository(c: Created) -> Computed:
    return c.physical, c.named(repositoryUrl=f"{ACCOUNT_ID}.dkr.ecr.{c.region}.amazonaws.com/{c.physical}")


def _table(c: Created) -> Computed:
    return c.physical, c.named(streamArn=f"{c.arn}/stream/2026-11-25T00:00:00.000")


def _event_bus(c: Created) -> Computed:
    return c.physical, c.named(arn=f"arn:aws:events:{c.region}:{ACCOUNT_ID}:event-bus/{c.physical}")


def _event_rule(c: Created) -> Computed:
    bus = str(c.inputs.get("eventBusName") or "default")
    return c.physical, c.named(arn=f"arn:aws:events:{c.region}:{ACCOUNT_ID}:rule/{bus}/{c.physical}")


def _event_archive(c: Created) -> Computed:
    return c.physical, c.named(arn=f"arn:aws:events:{c.region}:{ACCOUNT_ID}:archive/{c.physical}")


def _layer_version(c: Created) -> Computed:
    layer = f"arn:aws:lambda:{c.region}:{ACCOUNT_ID}:layer:{c.inputs.get('layerName') or c.physical}"
    arn = f"{layer}:1"
    return arn, c.named(arn=arn, layerArn=layer, version="1")


def _email_identity(c: Created) -> Computed:
    identity = str(c.inputs.get("emailIdentity"))
    return identity, c.named(
        arn=f"arn:aws:ses:{c.region}:{ACCOUNT_ID}:identity/{identity}", identityType="DOMAIN",
        dkimSigningAttributes={**(c.inputs.get("dkimSigningAttributes") or {}), "status": "PENDING",
                               "tokens": [digest(c.seed, str(i), length=32) for i in range(3)]})


def _configuration_set(c: Created) -> Computed:
    config_set = str(c.inputs.get("configurationSetName") or c.physical)
    return config_set, c.named(arn=f"arn:aws:ses:{c.region}:{ACCOUNT_ID}:configuration-set/{config_set}")


def _alarm(c: Created) -> Computed:
    return c.physical, c.named(arn=f"arn:aws:cloudwatch:{c.region}:{ACCOUNT_ID}:alarm:{c.physical}")


def _certificate(c: Created) -> Computed:
    domain = str(c.inputs.get("domainName"))
    arn = f"arn:aws:acm:{c.region}:{ACCOUNT_ID}:certificate/{uuid_of(c.seed)}"
    # ACM's record for a name: the same in every Region of the account
    token = digest("acm", domain, length=32)
    return arn, {"arn": arn, "status": "PENDING_VALIDATION", "domainValidationOptions": [{
        "domainName": domain, "resourceRecordName": f"_{token}.{domain}.",
        "resourceRecordType": "CNAME",
        "resourceRecordValue": f"_{digest('acm-value', domain, length=32)}."
                               f"{digest('acm-zone', length=10)}.acm-validations.aws."}]}


def _certificate_validation(c: Created) -> Computed:
    return f"{digest(c.seed, length=4)}-{c.inputs.get('certificateArn')}", \
        {"certificateArn": c.inputs.get("certificateArn")}


def _invocation(c: Created) -> Computed:
    """The provider's id: function, qualifier and the MD5 of the payload sent."""
    function = str(c.inputs.get("functionName"))
    qualifier = str(c.inputs.get("qualifier") or "$LATEST")
    sent = hashlib.md5(str(c.inputs.get("input")).encode(), usedforsecurity=False).hexdigest()
    # what a function returning nothing sends
    return f"{function},{qualifier},{sent}", {"qualifier": qualifier, "result": "null"}


BY_KIND: Mapping[tuple[str, str], Compute] = {
    **{("ec2", kind): _ec2_with_id for kind in EC2_ID_PREFIX},
    ("kms", "Key"): _kms_key,
    ("cloudwatch", "LogGroup"): _log_group,
    ("sqs", "Queue"): _sqs_queue,
    ("sns", "Topic"): _sns_topic,
    ("rds", "GlobalCluster"): _global_cluster,
    ("rds", "ClusterInstance"): _cluster_instance,
    ("route53", "HealthCheck"): _health_check,
    ("route53", "Record"): _record,
    ("elasticache", "User"): _cache_user,
    ("elasticache", "UserGroup"): _cache_user,
    ("opensearch", "Domain"): _opensearch_domain,
    ("cloudfront", "Distribution"): _distribution,
    ("lambda", "Function"): _function,
    ("lambda", "LayerVersion"): _layer_version,
    ("lambda", "Invocation"): _invocation,
    ("ecr", "Repository"): _repository,
    ("dynamodb", "Table"): _table,
    ("cloudwatch", "EventBus"): _event_bus,
    ("cloudwatch", "EventRule"): _event_rule,
    ("cloudwatch", "EventArchive"): _event_archive,
    ("cloudwatch", "MetricAlarm"): _alarm,
    ("cloudwatch", "CompositeAlarm"): _alarm,
    ("sesv2", "EmailIdentity"): _email_identity,
    ("sesv2", "ConfigurationSet"): _configuration_set,
    ("acm", "Certificate"): _certificate,
    ("acm", "CertificateValidation"): _certificate_validation,
}


# -- by service: one rule for every type of the service not named above ------------------------

def _iam(c: Created) -> Computed:
    return c.physical, c.named(arn=f"arn:aws:iam::{ACCOUNT_ID}:{c.resource.lower()}/{c.physical}",
                               uniqueId=f"AROA{digest(c.seed, length=16).upper()}")


def _load_balancing(c: Created) -> Computed:
    suffix = f"{c.physical}/{digest(c.seed, length=16)}"
    prefix = f"arn:aws:elasticloadbalancing:{c.region}:{ACCOUNT_ID}"
    if c.kind == "LoadBalancer":
        arn = f"{prefix}:loadbalancer/app/{suffix}"
        return arn, c.named(
            arn=arn, arnSuffix=f"app/{suffix}",
            dnsName=f"{c.physical}-{digest(c.seed, length=9)}.{c.region}.elb.amazonaws.com",
            zoneId="Z35SXDOTRQ7X7K")
    if c.kind == "TargetGroup":
        arn = f"{prefix}:targetgroup/{suffix}"
        return arn, c.named(arn=arn, arnSuffix=f"targetgroup/{suffix}")
    arn = f"{prefix}:{c.resource.lower()}/app/{suffix}/{digest(c.seed, 'x', length=16)}"
    return arn, c.named(arn=arn)


def _rds(c: Created) -> Computed:
    """A cluster (or an instance, which RDS names when the program does not)."""
    named = {"identifier": str(c.inputs.get("identifier") or c.physical)} if c.kind == "Instance" else {}
    host = f"{c.physical}.cluster-c{digest(c.seed, length=11)}.{c.region}.rds.amazonaws.com"
    return c.physical, c.named(
        **named, arn=f"arn:aws:rds:{c.region}:{ACCOUNT_ID}:{c.resource.lower()}:{c.physical}",
        endpoint=host, readerEndpoint=host.replace(".cluster-", ".cluster-ro-"),
        port=c.inputs.get("port", 5432), clusterResourceId=f"cluster-{digest(c.seed)}",
        masterUserSecrets=[{"secretArn": f"arn:aws:secretsmanager:{c.region}:{ACCOUNT_ID}:"
                                         f"secret:rds!cluster-{digest(c.seed)}",
                            "secretStatus": "active", "kmsKeyId": ""}])


def _replication_group(c: Created) -> Computed:
    host = f"master.{c.physical}.{digest(c.seed, length=6)}.use1.cache.amazonaws.com"
    return c.physical, c.named(
        arn=f"arn:aws:elasticache:{c.region}:{ACCOUNT_ID}:replicationgroup:{c.physical}",
        primaryEndpointAddress=host, readerEndpointAddress=host.replace("master.", "replica."), port=6379)


def _wafv2(c: Created) -> Computed:
    scope = "global" if c.inputs.get("scope") == "CLOUDFRONT" else "regional"
    return c.physical, c.named(arn=f"arn:aws:wafv2:{c.region}:{ACCOUNT_ID}:{scope}/{c.resource.lower()}/"
                                   f"{c.physical}/{digest(c.seed, length=8)}")


def _secret(c: Created) -> Computed:
    arn = f"arn:aws:secretsmanager:{c.region}:{ACCOUNT_ID}:secret:{c.physical}-{digest(c.seed, length=6)}"
    return arn, c.named(arn=arn)


def _ecs(c: Created) -> Computed:
    return c.physical, c.named(arn=f"arn:aws:ecs:{c.region}:{ACCOUNT_ID}:{c.resource.lower()}/{c.physical}")


def _scheduler(c: Created) -> Computed:
    path = (f"schedule-group/{c.physical}" if c.kind == "ScheduleGroup"
            else f"schedule/{c.inputs.get('groupName') or 'default'}/{c.physical}")
    return c.physical, c.named(arn=f"arn:aws:scheduler:{c.region}:{ACCOUNT_ID}:{path}")


BY_SERVICE: Mapping[str, Compute] = {
    "iam": _iam,
    "lb": _load_balancing,
    "alb": _load_balancing,
    "rds": _rds,
    "elasticache": _replication_group,
    "wafv2": _wafv2,
    "secretsmanager": _secret,
    "ecs": _ecs,
    "scheduler": _scheduler,
}
