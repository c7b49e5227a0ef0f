"""The order service's guard is the shared one; this name stays for code that imports it from here."""

from shop.web_guard import MAX_BODY_BYTES, GuardRequests, without_input

__all__ = ["MAX_BODY_BYTES", "GuardRequests", "without_input"]
