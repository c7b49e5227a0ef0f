"""Lambda consumers of the order events, one SQS queue (and DLQ) each."""
