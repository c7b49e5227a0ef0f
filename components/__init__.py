"""The shop's tiers, one Pulumi ComponentResource per module."""
