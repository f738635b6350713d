"""A case's review history and a call's ranking come in pages: whole, in order, no repeats."""

from __future__ import annotations

from shared.testkit.pages import assert_limits_refused, every_page
from shared.testkit.service import RunningService, eventually

from .scenario import AUDITOR, NATION, YUNNAN_RANKER, Application, act, review_of, through_province


async def test_a_case_s_history_comes_whole_in_pages_in_stored_order(
    service: RunningService,
) -> None:
    app = Application(route="direct", jurisdiction="53")
    await app.submit(service)
    await through_province(service, app)  # opened, declared, accepted: a few events
    path = f"/cases/{app.case_id}/history"
    whole = await service.client.get(path, headers=AUDITOR.headers(service))
    assert whole.json()["next_cursor"] is None
    everything = whole.json()["events"]
    assert len(everything) >= 3

    pages = await every_page(
        service.client, path, AUDITOR.headers(service), items="events", limit=2
    )

    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    read = [event for page in pages for event in page]
    assert [e["id"] for e in read] == [e["id"] for e in everything]
    assert len({e["id"] for e in read}) == len(read)
    await assert_limits_refused(service.client, path, AUDITOR.headers(service))


async def test_a_ranking_s_candidates_come_in_pages_the_ranked_first_by_rank(
    service: RunningService,
) -> None:
    apps = [
        Application(route="direct", jurisdiction="53", unit_id=f"unit-{n}", unit_name=f"单位{n}")
        for n in range(3)
    ]
    for app in apps:
        await app.submit(service)
        await through_province(service, app)
        await review_of(service, app)
    path = f"/calls/{apps[0].call_id}/ranking"
    headers = NATION.headers(service)

    pages = await every_page(service.client, path, headers, items="candidates", limit=2)
    assert [[c["application_id"] for c in page] for page in pages] == [
        sorted(a.application_id for a in apps)[:2],
        sorted(a.application_id for a in apps)[2:],
    ]

    second, first, unranked = apps
    await act(service, f"{path}/declarations", YUNNAN_RANKER)
    await act(
        service,
        path,
        YUNNAN_RANKER,
        {
            "ranked": [first.application_id, second.application_id],
            "not_recommended": [{"application_id": unranked.application_id, "reasons": ["弱"]}],
        },
    )
    ranked = []
    cursor: str | None = None
    order = []
    while True:
        params: dict[str, str | int] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        read = (await service.client.get(path, params=params, headers=headers)).json()
        order += [c["application_id"] for c in read["candidates"]]
        ranked += [c["application_id"] for c in read["recommended"]]
        if (cursor := read["next_cursor"]) is None:
            break
    assert order == [first.application_id, second.application_id, unranked.application_id]
    assert ranked == [first.application_id, second.application_id]
    await assert_limits_refused(service.client, path, headers)


async def test_the_dead_letters_come_whole_in_pages_in_recorded_order(
    service: RunningService,
) -> None:
    for n in range(5):  # unreadable: each is dead-lettered as it comes
        await service.bus.publish(
            f"haizhi.application.case-dead-{n}.ApplicationSubmitted", b"\x00not an envelope"
        )
    headers = AUDITOR.headers(service)

    async def all_five() -> list[object] | None:
        read = await service.client.get("/audit/dead-letters", headers=headers)
        letters: list[object] = read.json()["dead_letters"]
        return letters if len(letters) == 5 else None

    everything = await eventually(all_five)
    pages = await every_page(
        service.client, "/audit/dead-letters", headers, items="dead_letters", limit=2
    )

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [letter for page in pages for letter in page] == everything
    assert [letter["stream"] for letter in everything] == [  # type: ignore[index]
        f"haizhi.application.case-dead-{n}.ApplicationSubmitted" for n in range(5)
    ]
    await assert_limits_refused(service.client, "/audit/dead-letters", headers)


async def test_a_case_s_timeline_comes_whole_in_pages_in_time_order(
    service: RunningService,
) -> None:
    app = Application(route="direct", jurisdiction="53")
    await app.submit(service)
    await through_province(service, app)
    await service.kernel.relay.drain_once()
    path = f"/audit/cases/{app.case_id}/timeline"
    headers = AUDITOR.headers(service)
    whole = await service.client.get(path, headers=headers)
    assert whole.json()["next_cursor"] is None
    everything = whole.json()["events"]
    assert len(everything) >= 4

    pages = await every_page(service.client, path, headers, items="events", limit=3)

    read = [event for page in pages for event in page]
    assert [e["event_id"] for e in read] == [e["event_id"] for e in everything]
    assert len({e["event_id"] for e in read}) == len(read)
    assert len(pages) == -(-len(everything) // 3)
    await assert_limits_refused(service.client, path, headers)


async def test_the_reviews_come_whole_in_pages_by_id(service: RunningService) -> None:
    apps = [Application(unit_id=f"unit-{n}", unit_name=f"单位{n}") for n in range(3)]
    for app in apps:
        await app.submit(service)
        await review_of(service, app)

    pages = await every_page(service.client, "/reviews", AUDITOR.headers(service), limit=2)

    ids = sorted(app.review_id for app in apps)
    assert [[r["review_id"] for r in page] for page in pages] == [ids[:2], ids[2:]]
    for path in ("/reviews", "/renewals"):
        await assert_limits_refused(service.client, path, AUDITOR.headers(service), cursor=None)
