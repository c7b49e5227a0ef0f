"""The shop on AWS: composes the tiers from the stack's typed config and exports their outputs."""

import pulumi
import pulumi_aws as aws

from components.config import ConfigError, StackConfig
from components.keys import EncryptionKeys, EncryptionKeysArgs
from components.network import Network, NetworkArgs
from components.providers import Tier, TierProviders

cfg = StackConfig.load()
providers = TierProviders(environment=cfg.environment.value, region=cfg.region)

account_id = aws.get_caller_identity(
    opts=pulumi.InvokeOptions(provider=providers.get(Tier.SECURITY))).account_id
zone_names = aws.get_availability_zones(
    state="available", opts=pulumi.InvokeOptions(provider=providers.get(Tier.NETWORK))).names
if len(zone_names) < cfg.network.az_count:
    raise ConfigError(f"Pulumi.{cfg.stack}.yaml: ecommerce:azCount = {cfg.network.az_count} is "
                      f"not allowed: {cfg.region} has {len(zone_names)} available AZs")

keys = EncryptionKeys("keys", EncryptionKeysArgs(account_id=account_id, region=cfg.region),
                      opts=providers.opts(Tier.SECURITY))

network = Network("network", NetworkArgs(
    cidr=cfg.network.cidr, availability_zones=tuple(zone_names[: cfg.network.az_count]),
    nat_gateways=cfg.network.nat_gateways, flow_log_retention_days=cfg.log_retention_days,
    logs_kms_key_arn=keys.logs_key_arn), opts=providers.opts(Tier.NETWORK))

pulumi.export("region", cfg.region)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("availabilityZones", list(network.availability_zones))
