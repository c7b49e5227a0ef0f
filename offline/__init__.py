"""The offline engine: runs the program and the policy pack without the Pulumi CLI or a cloud."""
