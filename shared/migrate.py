"""Schema by migration: the kernel's revisions plus each service's own, applied with Alembic.

A service passes the folder of its revisions (its read-model tables); they live on their own
branch that depends on the kernel's. `create_all` is never used on a production database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from shared.db import Database

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"


def _config(version_locations: list[Path]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(KERNEL_MIGRATIONS))
    locations = [KERNEL_MIGRATIONS / "versions", *version_locations]
    config.set_main_option("version_locations", " ".join(str(p) for p in locations))
    config.set_main_option("path_separator", "space")
    return config


async def upgrade(db: Database, version_locations: list[Path] | None = None) -> None:
    """Bring the database to the newest revision of the kernel and the given branches."""
    config = _config(version_locations or [])

    def run(connection: Connection) -> Any:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async with db.engine.begin() as conn:
        await conn.run_sync(run)
