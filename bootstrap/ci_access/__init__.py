"""The bootstrap's identities for CI: GitHub OIDC trust, the preview and deploy roles."""
