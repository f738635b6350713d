"""Structured logs: JSON lines in production, readable lines at a terminal.

Whatever is bound with `structlog.contextvars.bind_contextvars` (request, correlation and case
ids) appears on every line logged while it is bound, including lines from the standard library
`logging` (uvicorn, SQLAlchemy), which are routed through the same renderer.
"""

from __future__ import annotations

import contextlib
import json as stdlib_json
import logging
import sys
from typing import Any, TextIO, cast

import orjson
import structlog
import structlog.tracebacks
from structlog.typing import FilteringBoundLogger, Processor


def configure_logging(
    json: bool | None = None, *, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Configure once, from the composition root. `json=None`: JSON unless stderr is a tty.

    Our own lines are rendered by structlog and written to the stream directly (about 17 µs a
    line against 90 through the standard library's records and handlers); the standard
    library's (uvicorn, SQLAlchemy, Alembic) go through its handler with the same processors
    and renderer, so both read alike."""
    out = sys.stderr if stream is None else stream
    as_json = not out.isatty() if json is None else json
    stamped: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if as_json:
        # Tracebacks as data, without local variables: they may hold tokens or personal data.
        transformer = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        stamped.append(structlog.processors.ExceptionRenderer(transformer))
        renderer = structlog.processors.JSONRenderer(serializer=_json_line)
    else:
        renderer = structlog.dev.ConsoleRenderer()

    structlog.configure(
        processors=[*stamped, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_SafeWriteLoggerFactory(out),
        # Not cached: a reconfiguration (tests, the CLI) must reach module-level loggers.
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*stamped[:2], structlog.stdlib.add_logger_name, *stamped[2:]],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, "_haizhi", False)]:
        root.removeHandler(previous)
    handler._haizhi = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())


def get_logger(name: str, **initial: Any) -> FilteringBoundLogger:
    """A logger whose lines carry `logger=<name>` besides the bound context."""
    return cast(FilteringBoundLogger, _Logger(structlog.get_logger(**initial), name))


class _SafeWriteLogger(structlog.WriteLogger):
    """structlog's `WriteLogger`, except that a line it cannot write (the stream closed, a
    broken pipe to a dead collector, a full non-blocking pipe) is reported as the standard
    library's handlers report theirs (`logging.raiseExceptions`: a note on stderr) and
    dropped, never raised into the code that logged it: a committed command must not turn
    into an error because its log line could not be written."""

    def msg(self, message: str) -> None:
        try:
            super().msg(message)
        except Exception:
            if logging.raiseExceptions and sys.stderr is not None:
                with contextlib.suppress(Exception):
                    sys.stderr.write("--- Logging error (a line was dropped) ---\n")

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg
    failure = msg


class _SafeWriteLoggerFactory:
    """`structlog.WriteLoggerFactory` for `_SafeWriteLogger`."""

    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _SafeWriteLogger:
        return _SafeWriteLogger(self._file)


def _json_line(value: Any, **options: Any) -> str:
    """A log line's JSON: orjson's (UTF-8 as it is, no spaces); what it cannot write (keys
    that are not strings, integers beyond 64 bits) the standard library's, as before. A
    value neither knows is written by structlog's fallback (`options["default"]`)."""
    try:
        return orjson.dumps(value, default=options.get("default")).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return stdlib_json.dumps(value, **options)


class _Logger:
    """structlog's lazy logger, bound once per configuration instead of at every line.

    structlog's own proxy builds a new bound logger (a standard-library logger looked up under
    its lock, the wrapper, the processors) for every line, or, with `cache_logger_on_first_use`,
    once for good, so that a later configuration (`configure_logging` from the CLI, tests,
    `structlog.reset_defaults`) would not reach it. This one binds again whenever the
    configuration's processors, wrapper or logger factory are no longer the ones it was
    bound with. `structlog.testing.capture_logs` changes the processors list in place, which
    the bound logger shares."""

    __slots__ = ("_bound", "_lazy", "_name", "_seen")

    def __init__(self, lazy: Any, name: str) -> None:
        self._lazy, self._name = lazy, name
        self._bound: Any = None
        self._seen: tuple[Any, ...] = ()

    def __getattr__(self, name: str) -> Any:
        # structlog's configuration object itself (`get_config()` copies it into a new dict
        # at every call): read, never changed here.
        config = structlog._config._CONFIG
        seen = self._seen
        if (
            not seen
            or seen[0] is not config.default_processors
            or seen[1] is not config.default_wrapper_class
            or seen[2] is not config.logger_factory
        ):
            self._bound = self._lazy.bind(logger=self._name)
            self._seen = (
                config.default_processors,
                config.default_wrapper_class,
                config.logger_factory,
            )
        return getattr(self._bound, name)
