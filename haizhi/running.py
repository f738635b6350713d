"""Finding the running system from any directory: its data folder and the addresses in it.

`haizhi up` writes the addresses to `<data-dir>/haizhi.json` (removed on stop) and, for as
long as it runs, a note of its data folder and process id in the user's state folder
(`running/<pid>.json` under `$HAIZHI_STATE_DIR`, else `$XDG_STATE_HOME/haizhi`, else
`~/.local/state/haizhi`). A command that needs the running system looks, in this order:

1. `--data-dir DIR` (anywhere on the command line), then `$HAIZHI_DATA_DIR`: only there;
2. `./var`, when a system runs there (the checkout's root, as before);
3. the notes of `haizhi up` processes still alive whose data folder has its `haizhi.json`:
   exactly one is used; with several, the command names them and asks for `--data-dir`.

A note whose process is gone is removed when found.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.cli import RUNTIME_FILE
from shared.nats_auth import user_url

DEFAULT_DATA_DIR = Path("var")


@dataclass(frozen=True)
class Running:
    """A running system: where its data lives and where it answers."""

    data_dir: Path
    nats: str
    services: dict[str, str]
    found_by: str

    def nats_as(self, user: str) -> str:
        """The NATS address as `user` of the embedded server (its passwords are in the folder)."""
        return user_url(self.nats, self.data_dir, user)

    def info(self) -> dict[str, Any]:
        """What `haizhi up` wrote to `haizhi.json`."""
        return {"nats": self.nats, "services": dict(self.services), "data_dir": self.data_dir}


class NotRunning(SystemExit):
    """No running system where the command looked; the message says where that was."""


def state_dir() -> Path:
    if explicit := os.environ.get("HAIZHI_STATE_DIR"):
        return Path(explicit)
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "haizhi"
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "haizhi"


def data_dir_for_up(explicit: Path | None) -> Path:
    """Where `haizhi up` keeps its data: `--data-dir`, else `$HAIZHI_DATA_DIR`, else `./var`."""
    if explicit is not None:
        return explicit
    return Path(os.environ.get("HAIZHI_DATA_DIR") or DEFAULT_DATA_DIR)


def note_running(data_dir: Path, pid: int | None = None) -> Path:
    """Record, for commands run elsewhere, that process `pid` serves `data_dir`."""
    pid = os.getpid() if pid is None else pid
    folder = state_dir() / "running"
    folder.mkdir(parents=True, exist_ok=True)
    note = folder / f"{pid}.json"
    body = {"pid": pid, "data_dir": str(data_dir.resolve())}
    note.write_text(json.dumps(body), encoding="utf-8")
    return note


def forget_running(note: Path) -> None:
    note.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # signal 0 would terminate the process there; trust haizhi.json alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process of the same number
        return False
    return True


def _read(data_dir: Path, found_by: str) -> Running | None:
    runtime = data_dir / RUNTIME_FILE
    try:
        info = json.loads(runtime.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Running(data_dir.resolve(), str(info["nats"]), dict(info["services"]), found_by)


def noted() -> list[Running]:
    """Systems that `haizhi up` processes of this user serve now (dead notes removed)."""
    folder = state_dir() / "running"
    found = []
    for note in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            body = json.loads(note.read_text(encoding="utf-8"))
            pid, data_dir = int(body["pid"]), Path(body["data_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not _alive(pid):
            with contextlib.suppress(OSError):
                note.unlink()
            continue
        running = _read(data_dir, f"`haizhi up` (process {pid})")
        if running is not None:
            found.append(running)
    return found


def find(explicit: Path | None) -> Running:
    """The running system this command is about (see the module's order); else `NotRunning`."""
    pinned = explicit or (Path(env) if (env := os.environ.get("HAIZHI_DATA_DIR")) else None)
    if pinned is not None:
        how = "--data-dir" if explicit is not None else "$HAIZHI_DATA_DIR"
        running = _read(pinned, how)
        if running is None:
            raise NotRunning(
                f"nothing is running under {pinned} ({how}): no {RUNTIME_FILE} there. "
                f"Start it with `haizhi --data-dir {pinned} up`."
            )
        return running
    here = _read(DEFAULT_DATA_DIR, "./var")
    if here is not None:
        return here
    systems = {r.data_dir: r for r in noted()}
    if len(systems) == 1:
        return next(iter(systems.values()))
    if systems:
        where = "\n".join(f"  haizhi --data-dir {d} …" for d in systems)
        raise NotRunning(f"{len(systems)} systems are running; name one:\n{where}")
    raise NotRunning(
        "no running HaiZhi system found: none in ./var, and no `haizhi up` of yours is running "
        f"(notes in {state_dir() / 'running'}). Start one with `python3 tasks.py run` or "
        "`haizhi up`, or name its data folder with --data-dir DIR or $HAIZHI_DATA_DIR."
    )
