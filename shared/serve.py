"""Serve one service's ASGI app: on a socket the process runner bound for it, or on an address.

    python -m shared.serve --fd N [--fd M] services.application.main:create_app
    python -m shared.serve --host 0.0.0.0 --port 8000 services.application.main:create_app

The second is a container's command (Dockerfile, docker-compose.yml, deploy/k8s): the same
uvicorn settings, its own socket.

`shared.system` binds each service's socket itself and hands it to the service's process
(`pass_fds`), so its port is held from the moment it is chosen and a restart keeps it. This
is uvicorn with that socket, not `uvicorn --fd`: uvicorn wraps a passed descriptor as a Unix
socket whatever it is, so uvloop would serve a TCP listener as a pipe and never set
`TCP_NODELAY` on its connections (a response's head and body then wait for the client's
delayed acknowledgement, up to 40 ms). Here the socket is taken as what it is.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import socket
import sys
from typing import Any

import uvicorn

#: uvicorn's settings for every service: its access log off (ours logs each request); against
#: slow and greedy clients, idle keep-alive connections closed after 5 s and a request's head
#: held to 16 KiB (uvicorn has no deadline for a head sent slowly; production puts a proxy in
#: front with one, docs/runbook.md, "HTTP edges"); uvloop's event loop where it is installed
#: (not on Windows): less CPU per command.
SETTINGS: dict[str, Any] = {
    "access_log": False,
    "timeout_keep_alive": 5,
    "h11_max_incomplete_event_size": 16384,
    "loop": "uvloop" if importlib.util.find_spec("uvloop") else "auto",
}
#: The exit status of a server that never started serving (as uvicorn's command gives).
STARTUP_FAILURE = 3


def uvicorn_options() -> list[str]:
    """`SETTINGS` as uvicorn's command-line options (where no socket is handed down)."""
    options = []
    for name, value in SETTINGS.items():
        flag = "--" + name.replace("_", "-")
        options += [flag.replace("--", "--no-", 1)] if value is False else [flag, str(value)]
    return options


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.serve", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--fd", type=int, action="append", help="an inherited listening socket (repeatable)"
    )
    where.add_argument("--port", type=int, help="the TCP port to bind (with --host)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to bind with --port")
    parser.add_argument("app", help="module:factory of the ASGI app")
    args = parser.parse_args(argv)
    server: uvicorn.Server
    if args.fd is not None:
        # Each socket's family and type are read from its descriptor.
        listeners = [socket.socket(fileno=fd) for fd in args.fd]
        for listener in listeners:
            host, port = listener.getsockname()[:2]
            print(f"serving {args.app} on http://{host}:{port}", file=sys.stderr, flush=True)
        server = uvicorn.Server(uvicorn.Config(args.app, factory=True, **SETTINGS))
        with contextlib.suppress(KeyboardInterrupt):  # a terminal's Ctrl-C reaches every child
            server.run(sockets=listeners)
    else:  # uvicorn binds the address itself, as a TCP socket
        config = uvicorn.Config(args.app, factory=True, host=args.host, port=args.port, **SETTINGS)
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    main()
