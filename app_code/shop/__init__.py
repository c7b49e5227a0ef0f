"""The shop's application code: the order service (ECS) and the Lambda consumers and jobs."""
