"""Module loggers follow the logging configuration in force, whoever changed it."""

from __future__ import annotations

import io
import json

import structlog
from structlog.testing import capture_logs

from shared.logging import configure_logging, get_logger


def test_a_logger_follows_every_reconfiguration() -> None:
    """A module-level logger, used once, then the configuration changes: by
    `configure_logging` (another level and stream), by `structlog.reset_defaults` and
    `capture_logs` (as the tests do). Each line goes where the configuration in force says."""
    log = get_logger("shared.tests.reconfigured")
    first, second = io.StringIO(), io.StringIO()
    configure_logging(json=True, level="INFO", stream=first)
    log.info("to the first stream", n=1)
    configure_logging(json=True, level="WARNING", stream=second)
    log.info("below the level: dropped")
    log.warning("to the second stream", n=2)
    structlog.reset_defaults()
    with capture_logs() as captured:
        log.warning("captured", n=3)
    configure_logging(json=True, level="INFO", stream=first)
    log.info("to the first stream again", n=4)

    lines = [json.loads(line) for line in first.getvalue().splitlines()]
    assert [(line["event"], line["n"]) for line in lines] == [
        ("to the first stream", 1),
        ("to the first stream again", 4),
    ]
    assert [json.loads(line)["event"] for line in second.getvalue().splitlines()] == [
        "to the second stream"
    ]
    assert [(entry["event"], entry["n"]) for entry in captured] == [("captured", 3)]
    structlog.reset_defaults()


def test_a_line_that_cannot_be_written_is_dropped_not_raised() -> None:
    """The log stream is gone (a closed file, a broken pipe to a dead collector): logging a
    line must not raise into the code that logged it (a committed command, a consumer's
    loop), as the standard library's handlers do not; logging goes on once a stream works."""
    log = get_logger("shared.tests.closed")
    gone = io.StringIO()
    configure_logging(json=True, level="INFO", stream=gone)
    gone.close()
    log.info("into a closed stream")  # no exception
    log.error("still none")
    working = io.StringIO()
    configure_logging(json=True, level="INFO", stream=working)
    log.info("written")
    assert [json.loads(line)["event"] for line in working.getvalue().splitlines()] == ["written"]
    structlog.reset_defaults()
