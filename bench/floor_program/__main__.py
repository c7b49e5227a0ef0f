"""An empty Pulumi program: the preview benchmark's floor runs it under the same mocks as the real one."""
