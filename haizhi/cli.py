"""The `haizhi` console script: the kernel's commands (up, token, clock, audit) and `demo`.

haizhi demo [--data-dir ./var]    play realistic cases through the running services
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.cli import build_parser, dispatch

from . import demo


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(extend=demo.add_command).parse_args(argv)
    if args.command == "demo":
        return demo.run(args)
    return dispatch(args)


if __name__ == "__main__":
    raise SystemExit(main())
