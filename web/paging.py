"""A service's paged list read whole: pages of the services' largest size, their cursors
followed within a bound (so that a page of the console never loops on a service's answer).

Every paged route of the services answers `items` (or a named list) and `next_cursor`; the
review service's queue answers several lists, each with its cursor in `next_cursors` and its
own query parameter (`reviews_cursor`, …): `cursor=` names it.
"""

from __future__ import annotations

from typing import Any

from .backend import Json
from .visit import Visit

#: The services' largest page (`shared.api.MAX_PAGE_SIZE`).
PAGE = 100
#: The most pages the console follows of one list.
MOST_PAGES = 50


def next_cursor(page: Json, items: str = "items") -> str | None:
    """The cursor of the page after `page`: its `next_cursor`, or on a page of several lists
    the cursor of `items` among its `next_cursors`; None after the last."""
    found = page.get("next_cursor") or (page.get("next_cursors") or {}).get(items)
    return str(found) if found else None


async def every(
    visit: Visit,
    service: str,
    path: str,
    *,
    items: str = "items",
    cursor: str = "cursor",
    most: int = MOST_PAGES,
    first: Json = None,
    **params: str | int | None,
) -> list[Any]:
    """Every item of a service's paged list, as the signed-in person may read it: from the
    first page (or `first`, a page already read: a record's head with its first items) on."""
    page = first if first is not None else await visit.get(service, path, limit=PAGE, **params)
    found = list(page.get(items) or [])
    for _ in range(most - 1):
        after = next_cursor(page, items)
        if not after:
            break
        page = await visit.get(service, path, limit=PAGE, **{cursor: after}, **params)
        found.extend(page.get(items) or [])
    return found


async def record(
    visit: Visit, service: str, path: str, *, items: str, most: int = MOST_PAGES
) -> Json | None:
    """A record that pages one of its lists (a grade list's `entries`, a ranking's
    `candidates`), read whole: its head with every item of `items`; None while the service has
    none (404)."""
    first = await visit.find(service, path, limit=PAGE)
    if first is None:
        return None
    return {**first, items: await every(visit, service, path, items=items, most=most, first=first)}
