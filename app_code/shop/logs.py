"""Logging that cannot carry a card number: a filter that redacts PAN-like digit runs.

The code never logs request bodies; the filter is the safety net for what others log (an access
log line with a query string, an exception message echoing input).
"""

from __future__ import annotations

import logging

from shop.cards import contains_pan, redact

# Loggers that see request lines or third-party messages in the order service.
GUARDED_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "fastapi", "shop", "order-api")


class RedactCardNumbers(logging.Filter):
    """Rewrite a record's message and string arguments so no PAN survives; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and contains_pan(record.msg):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


_FILTER = RedactCardNumbers()


def install_redaction(*names: str) -> None:
    """Attach the redaction filter to the named loggers (idempotent)."""
    for name in names or GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
