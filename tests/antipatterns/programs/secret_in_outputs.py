"""Anti-pattern: the admin password exported as a stack output, shown by `pulumi stack output`."""

import pulumi

pulumi.export("adminUrl", "https://admin.shop.example.com")
pulumi.export("adminPassword", "Winter-2026-shop-admin!")
