"""The event contract has two copies by design: the program's (components/config.py: the detail-types
its rules, bus policy and consumers are built from, and the default consumer list) and the app's
(app_code/shop/events.py and each consumer module's effects). The app is deployed without the
program (a Lambda layer and a container image that do not ship Pulumi), and the program must not
import the app at run time (it would pull the app's dependencies into every `pulumi preview`), so
neither imports the other: this test ties them."""

from __future__ import annotations

import importlib

import pytest

from components.config import DEFAULT_CONSUMERS, EVENT_SOURCE, KNOWN_EVENTS, ConsumerSpec, default_handler
from tests.support.app_env import APP_CODE


def test_the_app_and_the_program_name_the_same_events_and_source() -> None:
    from shop import events

    published = (events.ORDER_PLACED, events.ORDER_FULFILLED, events.CART_ABANDONED, events.PRODUCT_UPDATED)
    assert published == KNOWN_EVENTS
    assert events.SOURCE == EVENT_SOURCE
    assert events.SOURCES == dict.fromkeys(KNOWN_EVENTS, EVENT_SOURCE)


@pytest.mark.parametrize("spec", DEFAULT_CONSUMERS, ids=lambda s: s.name)
def test_each_default_consumer_handles_exactly_the_events_its_rule_routes_to_it(spec: ConsumerSpec) -> None:
    # GIVEN the consumer's module, as its Lambda function imports it
    module_name, _, attribute = spec.handler.rpartition(".")
    module = importlib.import_module(module_name)

    # THEN its handler exists, it is that consumer, and it has an effect for every routed event and
    # no other (an event without an effect would be dead-lettered as unroutable)
    assert callable(getattr(module, attribute))
    assert module.consumer.name == spec.name
    assert set(module.consumer.effects) == set(spec.events)


def test_every_consumer_module_of_the_app_is_a_default_consumer() -> None:
    modules = {p.stem for p in (APP_CODE / "shop" / "consumers").glob("*.py") if not p.stem.startswith("_")}
    assert {f"shop.consumers.{m}.handler" for m in modules} == {s.handler for s in DEFAULT_CONSUMERS}
    assert all(s.handler == default_handler(s.name) for s in DEFAULT_CONSUMERS)
