"""Reading a paged route whole, page by page, as a client would; and checking its bounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

#: What every paged route refuses as `limit` (shared.api.MAX_PAGE_SIZE is 100).
BAD_LIMITS = ("0", "-1", "101", "99999999999999999999", "ten")


async def every_page(
    client: httpx.AsyncClient,
    path: str,
    headers: Mapping[str, str],
    *,
    items: str = "items",
    cursor: str = "cursor",
    next_cursor: str = "next_cursor",
    **params: str | int,
) -> list[list[Any]]:
    """Each page of `path` in turn, following `next_cursor` until it is null."""
    pages: list[list[Any]] = []
    query: dict[str, str | int] = dict(params)
    while True:
        read = await client.get(path, params=query, headers=dict(headers))
        assert read.status_code == 200, read.text
        body = read.json()
        pages.append(list(body[items]))
        following = body[next_cursor]
        if following is None:
            return pages
        assert len(pages) < 1000, "a cursor that never ends"
        query[cursor] = following


async def assert_limits_refused(
    client: httpx.AsyncClient,
    path: str,
    headers: Mapping[str, str],
    *,
    cursor: str | None = "cursor",
) -> None:
    """`limit` out of 1–100, or a cursor no page gave (unless `cursor` is None: the route's
    cursors are plain ids), is a 422 problem detail."""
    queries: list[dict[str, str]] = [{"limit": limit} for limit in BAD_LIMITS]
    if cursor is not None:
        queries.append({cursor: "~no~cursor~"})
    for query in queries:
        read = await client.get(path, params=query, headers=dict(headers))
        assert read.status_code == 422, (query, read.text)
        assert read.headers["content-type"] == "application/problem+json", query
