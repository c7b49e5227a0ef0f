"""The parts of a `multipart/form-data` body (an HTML form with a file), read one way for everyone:
the admin's import form reads its fields with it, and the request guard (shop.web_guard) scans
exactly those fields, decoded as the form reads them (a part's base64 or quoted-printable transfer
encoding included), rather than the raw body, whose random boundary is not content.

The standard library's MIME parser does the work: no extra package for one form.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP


@dataclass(frozen=True)
class Part:
    name: str | None
    filename: str | None
    payload: bytes


def is_multipart(content_type: str) -> bool:
    return content_type.strip().lower().startswith("multipart/form-data")


def boundary(content_type: str) -> str | None:
    """The boundary parameter of a multipart content type."""
    message = EmailMessage(policy=HTTP)
    message["Content-Type"] = content_type
    found = message.get_boundary()
    return found if isinstance(found, str) else None


def parts(content_type: str, body: bytes) -> list[Part] | None:
    """The body's parts in order, or None when it is not a multipart/form-data body."""
    if not is_multipart(content_type):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return None
    found = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        found.append(Part(name if isinstance(name, str) else None, part.get_filename(),
                          payload if isinstance(payload, bytes) else b""))
    return found


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The named fields of a multipart/form-data body (the last of a repeated name); {} for another body."""
    return {part.name: part.payload for part in parts(content_type, body) or [] if part.name is not None}
