"""The second line of defence: no log handler of a service or a Lambda function writes a card number,
whoever logs it and however (message, arguments, extra fields, exceptions, the access log)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

from shop.logs import unredacted_handlers
from tests.app.hostile import visible_digits
from tests.support.app_clients import ServiceUnderTest
from tests.support.app_env import APP_CODE
from tests.support.app_stores import WrittenLogs

PAN = "4000056655665556"
SPACED = "4000 0566 5566 5556"
FUNCTIONS = ["shop.consumers.fulfillment", "shop.consumers.email", "shop.consumers.analytics",
             "shop.consumers.recommendations", "shop.jobs.outbox_relay", "shop.jobs.abandoned_carts",
             "shop.jobs.checkout_recovery", "shop.jobs.sales_rollup"]


def _ours(handlers: list[logging.Handler]) -> list[logging.Handler]:
    return [handler for handler in handlers if not type(handler).__module__.startswith("_pytest")]


def test_every_log_handler_of_a_service_redacts_whoever_logs(
        service: ServiceUnderTest, written_logs: WrittenLogs) -> None:
    # GIVEN a running service (its server configured its loggers, the app started)
    assert _ours(unredacted_handlers()) == []
    loggers = [logging.getLogger(), *(logger for logger in logging.root.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]

    # WHEN every logger in the process logs a card number in every way a record can carry one
    for logger in loggers:
        if logger.name == "uvicorn.access":  # its formatter takes exactly the five request fields
            logger.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", f"/x?card={SPACED}", "1.1", 200)
            continue
        try:
            raise ValueError(f"card {PAN}")
        except ValueError:
            logger.error(f"text {PAN} arg %s number %d", SPACED, int(PAN), exc_info=True,
                         extra={"card_extra": {"nested": [PAN]}})

    # THEN nothing any handler wrote holds it
    written = written_logs.text()
    assert "card_extra" in written and "ValueError" in written, "the records were not written"
    assert PAN not in visible_digits(written)


def test_every_lambda_function_redacts_its_records() -> None:
    # GIVEN the Lambda runtime's own handler on the root logger, installed before the function's
    # module is imported (as the runtime does), then every function module
    script = textwrap.dedent(f"""
        import json, logging, sys
        logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))
        logging.getLogger().setLevel(logging.INFO)
        import importlib
        from shop.logs import unredacted_handlers
        modules = [importlib.import_module(name) for name in {FUNCTIONS!r}]
        print(json.dumps({{"unredacted": [repr(h) for h in unredacted_handlers()]}}))
        for module in modules:
            logger = getattr(module, "logger", None) or module.consumer.logger
            logger.append_keys(card_key={PAN!r})
            logger.info("message {PAN} %s", {SPACED!r}, card_extra={{"nested": [{PAN!r}]}})
            try:
                raise ValueError("card {PAN}")
            except ValueError:
                logger.exception("failed")
            logger.remove_keys(["card_key"])
        logging.getLogger("shop.anything").warning("stdlib {PAN}")
        logging.getLogger("botocore.x").warning("library %s", {PAN!r})
    """)
    # WHEN they log a card number in every way
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=APP_CODE, env={**os.environ, "PYTHONPATH": str(APP_CODE)}, check=True)

    # THEN every handler redacts, and nothing written holds the number
    assert json.loads(result.stdout.splitlines()[0]) == {"unredacted": []}
    assert result.stdout.count("ValueError") >= len(FUNCTIONS), result.stdout[-2000:]
    assert PAN not in visible_digits(result.stdout + result.stderr), result.stdout[-3000:]
