"""A multipart form read no further than a bound: what every upload route needs first.

Starlette reads a whole body before it parses it; an upload route must refuse a body larger
than it may take without reading it all. `bounded_form` refuses a declared `Content-Length`
over the bound before reading anything, and stops reading once the body passes it; each
caller answers `BodyTooLarge` in its own words (a service's problem, the console's page).
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import Message


class BodyTooLarge(Exception):
    """The request's body is (or says it is) larger than the route takes."""


async def bounded_form(
    request: Request, limit: int, *, max_files: int, max_fields: int
) -> FormData:
    """`request`'s multipart form, its body at most `limit` bytes (else `BodyTooLarge`, read
    no further); the caller closes the form."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLarge
        return message

    return await Request(request.scope, counted).form(max_files=max_files, max_fields=max_fields)
