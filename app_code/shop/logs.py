"""Logging that cannot carry a card number: the second line of defence behind the request guard.

`install_redaction()` equips every handler in the process (the root logger's, every named logger's,
uvicorn's access and error logs, each Powertools logger's, the Lambda runtime's, and
`logging.lastResort`), whichever logger emits and whether or not it propagates, with:
- a `RedactCardNumbers` filter, run before formatting: the record's message, arguments and extra
  fields (nested ones too) pass through `shop.cards.redact` (a number becomes the REDACTED string,
  so a JSON line stays valid);
- a `RedactingFormatter` around its formatter: the formatted line passes through `redact` as well,
  which covers what a record does not carry (keys a Powertools formatter appends, the rendering of
  an exception or a stack).
Nothing is dropped: a record is written, with card numbers replaced by REDACTED.

Install it once the handlers exist: the services' guard middleware (`shop.web_guard`) does it when
the server has started (after uvicorn configured its loggers); Lambda functions create their logger
with `function_logger()`, which does it at import (after the runtime installed its handler).
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger

from shop.cards import REDACTED, contains_pan, redact

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}


def _scrub(value: Any) -> Any:
    """The value with card numbers removed from every string in it; other values as they were."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_scrub(item) for item in value)
    if isinstance(value, int | float) and not isinstance(value, bool) and contains_pan(str(value)):
        return REDACTED
    return value


class RedactCardNumbers(logging.Filter):
    """Rewrite a record so that no card number survives in anything a formatter reads from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif contains_pan(str(record.msg)):
            record.msg = redact(str(record.msg))
        record.args = self._args(record)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRIBUTES:
                record.__dict__[key] = _scrub(value)
        return True

    @staticmethod
    def _args(record: logging.LogRecord) -> Any:
        args = record.args
        if isinstance(args, dict):
            return {key: _scrub(value) for key, value in args.items()}
        if not isinstance(args, tuple) or not args:
            return args
        if any(not isinstance(arg, str) and contains_pan(str(arg)) for arg in args):
            # A number or an object that prints a card number: format now, then redact the line
            # (a redacted string could not stand in for a %d).
            record.msg = redact(record.getMessage())
            return ()
        return tuple(redact(arg) if isinstance(arg, str) else arg for arg in args)


class RedactingFormatter(logging.Formatter):
    """A handler's own formatter, whose every formatted line is redacted. Anything else asked of it
    (a Powertools formatter's append_keys, ...) goes to the formatter it wraps."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


_FILTER = RedactCardNumbers()


def _handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [logger for logger in logging.root.manager.loggerDict.values()
                if isinstance(logger, logging.Logger)]
    found = [handler for logger in loggers for handler in logger.handlers]
    if logging.lastResort is not None:
        found.append(logging.lastResort)
    return found


def install_redaction() -> None:
    """Attach the redaction filter to every handler that exists now (idempotent, cheap to repeat).

    Loggers without handlers of their own reach these through propagation; a handler created later
    is covered by the next call (the guard middleware calls it at every server start).
    """
    for handler in _handlers():
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter or logging.Formatter()))


def unredacted_handlers() -> list[logging.Handler]:
    """Handlers in the process that would write a record without redacting it (tests assert none)."""
    return [handler for handler in _handlers()
            if _FILTER not in handler.filters or not isinstance(handler.formatter, RedactingFormatter)]


def function_logger(service: str) -> Logger:
    """The Powertools logger of a Lambda function, with redaction on it and on the runtime's handler."""
    logger = Logger(service=service)
    install_redaction()
    return logger
