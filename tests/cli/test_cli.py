"""The `haizhi` command as a person uses it, without a running system where none is needed:
token users, `--data-dir` anywhere, finding the system from another folder, the clock in CST,
waiting for the bus before the clock moves, and an unknown case's timeline.

Where a command must reach services, a small HTTP server on loopback answers what a service
would (`/metrics` rendered by the kernel's own `Metrics`, an empty timeline): the command's
behaviour at the edge is what is tested, not the services.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from haizhi.cli import default_user, describe, main, take_data_dir
from haizhi.running import Running, find, note_running, noted
from haizhi.settle import NotSettled, lag, wait_settled
from shared.cli import RUNTIME_FILE
from shared.clock import ClockSetting
from shared.metrics import Metrics

Answer = Callable[[str], tuple[int, str, bytes]]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own running system, notes or environment."""
    monkeypatch.setenv("HAIZHI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("HAIZHI_DATA_DIR", raising=False)
    monkeypatch.delenv("HAIZHI_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)


@contextlib.contextmanager
def serving(answer: Answer) -> Iterator[str]:
    """An HTTP server on a free loopback port answering `answer(path)`; its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, media_type, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def metrics_of(
    service: str, outbox: int = 0, consumers: dict[str, int] | None = None, due: int = 0
) -> bytes:
    metrics = Metrics(service)
    metrics.outbox_lag_events.set(outbox)
    metrics.scheduled_due_events.set(due)
    for name, count in (consumers or {}).items():
        metrics.consumer_lag_events.labels(name).set(count)
    return metrics.render()


def write_runtime(data_dir: Path, url: str, nats: str = "nats://127.0.0.1:1") -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    services = {name: url for name in ("application", "review", "assessment", "funding")}
    (data_dir / RUNTIME_FILE).write_text(json.dumps({"nats": nats, "services": services}))
    return data_dir


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exit_:
            if isinstance(exit_.code, str):
                print(exit_.code, file=sys.stderr)
                status = 1
            else:
                status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


# haizhi token ------------------------------------------------------------------------------


def claims(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token.strip(), options={"verify_signature": False})
    return decoded


def test_a_token_without_user_is_named_by_its_role_unit_and_jurisdiction() -> None:
    _, reviewer, told = run("token", "--role", "province_reviewer", "--jurisdiction", "53")
    _, applicant, _ = run(
        "token", "--role", "applicant", "--org", "unit-kmust", "--jurisdiction", "5301"
    )
    assert claims(reviewer)["sub"] == "province_reviewer-53"
    assert claims(applicant)["sub"] == "applicant-unit-kmust-5301"
    assert "province_reviewer-53" in told
    assert "--user" in told


def test_tokens_for_different_people_have_different_users_and_user_names_one() -> None:
    assert default_user(["finance"], "yast-finance", ["53"]) == "finance-yast-finance-53"
    assert default_user(["national_reviewer"], None, []) == "national_reviewer"
    assert default_user(["auditor", "admin"], None, ["CN", "53"]) == "auditor+admin-CN,53"
    _, named, _ = run("token", "--role", "finance", "--jurisdiction", "53", "--user", "yangli")
    assert claims(named)["sub"] == "yangli"


# --data-dir anywhere, and finding the system ----------------------------------------------


def test_data_dir_is_taken_from_anywhere_on_the_line() -> None:
    expected = (Path("/d"), ["audit", "timeline", "C1"])
    assert take_data_dir(["--data-dir", "/d", "audit", "timeline", "C1"]) == expected
    assert take_data_dir(["audit", "--data-dir", "/d", "timeline", "C1"]) == expected
    assert take_data_dir(["audit", "timeline", "C1", "--data-dir=/d"]) == expected
    assert take_data_dir(["clock", "--data-dir", "/a", "--data-dir", "/d"])[0] == Path("/d")
    assert take_data_dir(["clock"]) == (None, ["clock"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "{dir}", "audit", "timeline", "C1"],
        ["audit", "timeline", "C1", "--data-dir", "{dir}"],
        ["clock", "--data-dir", "{dir}"],
    ],
)
def test_a_data_dir_where_nothing_runs_is_named_wherever_it_stands(
    tmp_path: Path, argv: list[str]
) -> None:
    empty = tmp_path / "empty"
    status, _, err = run(*(a.format(dir=empty) for a in argv))
    assert status == 1
    assert f"nothing is running under {empty} (--data-dir)" in err


def test_nothing_running_anywhere_says_how_to_start_or_name_one() -> None:
    status, _, err = run("clock")
    assert status == 1
    assert "no running HaiZhi system found" in err
    assert "--data-dir" in err


def test_the_system_is_found_from_another_folder_by_the_note_haizhi_up_leaves(
    tmp_path: Path,
) -> None:
    data_dir = write_runtime(tmp_path / "checkout" / "var", "http://127.0.0.1:9")
    note = note_running(data_dir)  # as `haizhi up` does, for this (living) process
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    found = find(None)
    assert found.data_dir == data_dir.resolve()
    assert found.services["review"] == "http://127.0.0.1:9"
    assert "haizhi up" in found.found_by
    assert note.exists()


def test_a_note_of_a_process_that_ended_is_removed(tmp_path: Path) -> None:
    data_dir = write_runtime(tmp_path / "old", "http://127.0.0.1:9")
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    note = note_running(data_dir, pid=int(ended.stdout))
    assert noted() == []
    assert not note.exists()


def test_two_running_systems_are_named_rather_than_one_guessed(tmp_path: Path) -> None:
    one = write_runtime(tmp_path / "one", "http://127.0.0.1:9")
    two = write_runtime(tmp_path / "two", "http://127.0.0.1:9")
    note_running(one)
    note_running(two, pid=os.getppid())  # another living process: the test runner's parent
    with pytest.raises(SystemExit, match="2 systems are running") as raised:
        find(None)
    assert str(one.resolve()) in str(raised.value)
    assert str(two.resolve()) in str(raised.value)


def test_the_environment_and_var_come_before_the_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_runtime(tmp_path / "var", "http://127.0.0.1:7")
    assert find(None).found_by == "./var"
    env = write_runtime(tmp_path / "env", "http://127.0.0.1:8")
    monkeypatch.setenv("HAIZHI_DATA_DIR", str(env))
    assert find(None).services["funding"] == "http://127.0.0.1:8"
    assert find(tmp_path / "var").found_by == "--data-dir"


# the clock -----------------------------------------------------------------------------------


def test_the_clock_is_shown_in_utc_and_china_standard_time() -> None:
    at = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)
    frozen = describe(at, ClockSetting(frozen_at=at))
    assert frozen.startswith("2027-01-01T02:00:00+00:00 UTC = 2027-01-01 10:00:00 CST")
    assert "frozen" in frozen
    assert "haizhi clock release" in frozen
    late = describe(datetime(2027, 1, 1, 17, 30, tzinfo=UTC), ClockSetting(timedelta(days=90)))
    assert "2027-01-02 01:30:00 CST" in late  # the next day in Beijing
    assert "running, +90.0 days from real time" in late


def test_backlogs_are_read_from_the_kernels_metrics() -> None:
    text = metrics_of("review", outbox=2, consumers={"review-from-application": 3, "x": 0})
    assert lag("review", text.decode()) == {
        "review outbox": 2,
        "review consumer review-from-application": 3,
    }
    # what the scheduler finds due and has not yet done holds the bus unsettled too
    assert lag("notification", metrics_of("notification", due=2).decode()) == {
        "notification scheduler": 2
    }
    assert (
        lag("review", metrics_of("review", consumers={"review-from-application": 0}).decode()) == {}
    )


def test_waiting_for_the_bus_ends_when_nothing_is_behind_twice() -> None:
    readings = iter([metrics_of("a", outbox=1), metrics_of("a"), metrics_of("a")])

    def answer(path: str) -> tuple[int, str, bytes]:
        return 200, "text/plain", next(readings, metrics_of("a"))

    with serving(answer) as url:
        wait_settled({"application": url}, timeout=10)


def test_the_clock_is_not_moved_while_a_consumer_is_behind(tmp_path: Path) -> None:
    def answer(path: str) -> tuple[int, str, bytes]:
        return 200, "text/plain", metrics_of("x", consumers={"funding-from-review": 4})

    with serving(answer) as url:
        with pytest.raises(NotSettled, match="funding-from-review 4"):
            wait_settled({"funding": url}, timeout=0.3)
        data_dir = write_runtime(tmp_path / "sys", url)  # NATS unreachable: never asked
        status, out, err = run(
            "clock", "advance", "90d", "--timeout", "0.3", "--data-dir", str(data_dir)
        )
    assert status == 1
    assert "the clock was not moved" in err
    assert "consumer funding-from-review 4" in err
    assert "--no-wait" in err
    assert out == ""


# haizhi audit timeline ----------------------------------------------------------------------


def test_the_timeline_of_an_unknown_case_exits_non_zero_and_says_why(tmp_path: Path) -> None:
    def answer(path: str) -> tuple[int, str, bytes]:
        assert path.partition("?")[0] == "/audit/cases/UNKNOWN/timeline"
        page: dict[str, object] = {"case_id": "UNKNOWN", "events": [], "next_cursor": None}
        return 200, "application/json", json.dumps(page).encode()

    with serving(answer) as url:
        data_dir = write_runtime(tmp_path / "sys", url)
        status, _, err = run("audit", "timeline", "UNKNOWN", "--data-dir", str(data_dir))
        as_json, out, _ = run("--data-dir", str(data_dir), "audit", "--json", "timeline", "UNKNOWN")
    assert status == 1
    assert as_json == 1
    assert "no events of case UNKNOWN" in err
    assert json.loads(out)["events"] == []


def _paged(items: str, pages: list[list[dict[str, str]]], path: str) -> tuple[int, str, bytes]:
    """Page n of `pages` for `?cursor=n` (the first without one), each naming the next."""
    query = parse_qs(urlsplit(path).query)
    number = int(query.get("cursor", ["0"])[0])
    following = str(number + 1) if number + 1 < len(pages) else None
    body = {"case_id": "C1", "service": "x", items: pages[number], "next_cursor": following}
    return 200, "application/json", json.dumps(body).encode()


def test_the_timeline_follows_the_pages_to_the_last(tmp_path: Path) -> None:
    event = {"time": "2022-01-01T00:00:00+00:00", "service": "application", "actor": "a"}
    pages = [[{**event, "event": f"E{page}{n}"} for n in range(2)] for page in range(3)]

    with serving(lambda path: _paged("events", pages, path)) as url:
        data_dir = write_runtime(tmp_path / "sys", url)
        status, out, _ = run("audit", "timeline", "C1", "--data-dir", str(data_dir))
        as_json, whole, _ = run("--data-dir", str(data_dir), "audit", "--json", "timeline", "C1")

    assert (status, as_json) == (0, 0)
    names = [f"E{page}{n}" for page in range(3) for n in range(2)]
    assert [line.split()[2] for line in out.splitlines()[:-1]] == names
    assert out.splitlines()[-1] == "6 events in case C1"
    assert [e["event"] for e in json.loads(whole)["events"]] == names


def test_the_dead_letters_follow_each_service_s_pages_to_the_last(tmp_path: Path) -> None:
    letter = {"consumer": "c", "event": "Happened", "stream": "s"}
    pages = [[{**letter, "event_id": f"id{page}"}] for page in range(3)]

    with serving(lambda path: _paged("dead_letters", pages, path)) as url:
        data_dir = write_runtime(tmp_path / "sys", url)
        status, out, _ = run("audit", "dead-letters", "--data-dir", str(data_dir))

    assert status == 0
    assert out.splitlines()[-1] == "12 dead letters"  # 3 pages from each of 4 services


def test_a_case_id_that_is_no_subject_token_is_refused_before_asking() -> None:
    status, _, err = run("audit", "timeline", "a.>", "--data-dir", "nowhere")
    assert status == 1
    assert "not a case id: 'a.>'" in err


def test_running_info_is_what_haizhi_up_wrote_and_where(tmp_path: Path) -> None:
    data_dir = write_runtime(tmp_path / "sys", "http://127.0.0.1:9", nats="nats://h:4222")
    running = find(data_dir)
    assert isinstance(running, Running)
    written = json.loads((data_dir / RUNTIME_FILE).read_text())
    # The data folder too: the audit finds the auditor's NATS credentials and the keys there.
    assert running.info() == {**written, "data_dir": data_dir}
