"""Schema by migration: the kernel's revisions plus each service's own, applied with Alembic.

A service passes the folder of its revisions (its read-model tables); they live on their own
branch that depends on the kernel's. `create_all` is never used on a production database.

In development a service migrates its own database as it starts. A deployment with replicas
runs the migrations once, as their own step (`python -m shared.migrate
services.<name>.main:spec`: the image's migration command), and starts the services with
`HAIZHI_MIGRATE_ON_START=false`: each then only checks that its schema is at least what its
code needs (`require_current`) and refuses to start otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from shared.db import Database, open_database
from shared.logging import get_logger
from shared.settings import StoreSettings

log = get_logger(__name__)

#: The migrations' advisory lock ("hzmg"), held for the migrating transaction.
_LOCK_KEY = 0x687A6D67

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
        if not db.is_sqlite:  # replicas starting together migrate one after another
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
                {"k": _LOCK_KEY},
            )
        await conn.run_sync(run)


class SchemaBehind(RuntimeError):
    """The database lacks revisions this code needs: run the migrations first."""


def _branch(revision: str) -> str:
    """A revision's branch by our naming: `kernel_0003` is the kernel's, `review_0002` review's."""
    return revision.rsplit("_", 1)[0]


def _applied(script: ScriptDirectory, current: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """The revisions the database holds (its heads and all below them) and its unknown heads."""
    applied: set[str] = set()
    unknown: set[str] = set()
    for head in current:
        try:
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
        except RevisionError:  # a revision of newer code than this, or of another service
            unknown.add(head)
    return applied, unknown


async def require_current(db: Database, version_locations: list[Path] | None = None) -> None:
    """Refuse (`SchemaBehind`) a database that lacks a revision of this code.

    A branch newer than the code (a revision this code does not know, on one of its branches)
    is accepted: in a rolling upgrade the new code's migrations run first and the old replicas
    keep serving, which is why a migration must keep the previous release working (expand,
    then contract). A revision of a branch this code does not have (another service's schema)
    is refused, and so is any branch behind.
    """
    script = ScriptDirectory.from_config(_config(version_locations or []))

    def current(connection: Connection) -> tuple[str, ...]:
        return MigrationContext.configure(connection).get_current_heads()

    async with db.engine.connect() as conn:
        heads = await conn.run_sync(current)
    applied, unknown = _applied(script, heads)
    ours = {_branch(head) for head in script.get_heads()}
    if foreign := sorted(u for u in unknown if _branch(u) not in ours):
        raise SchemaBehind(
            f"the database holds revisions {', '.join(foreign)} of no branch of this code: "
            "is HAIZHI_DATABASE_URL (or HAIZHI_DATABASE_SCHEMA) another service's?"
        )
    newer = {_branch(u) for u in unknown}
    missing = sorted(h for h in set(script.get_heads()) - applied if _branch(h) not in newer)
    if missing:
        raise SchemaBehind(
            f"the database lacks migrations {', '.join(missing)}: run "
            "`python -m shared.migrate <service module>:spec` (the migration job) first"
        )
    if unknown:
        log.warning("the schema is newer than this code", revisions=sorted(unknown))


def _spec_migrations(target: str) -> tuple[str, Path]:
    """`module:factory` of a service's spec: its name and the folder of its own revisions."""
    module_name, _, factory = target.partition(":")
    spec = getattr(importlib.import_module(module_name), factory or "spec")()
    return str(spec.name), Path(spec.migrations)


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.migrate services.<name>.main:spec`: bring its database to the newest
    schema and exit; what a deployment runs once (a Job, a one-shot) before the new code."""
    parser = argparse.ArgumentParser(prog="python -m shared.migrate", description=main.__doc__)
    parser.add_argument("spec", help="module:factory of the service's spec")
    args = parser.parse_args(argv)
    try:
        settings = StoreSettings()
    except ValidationError as invalid:
        sys.exit(f"migration settings: {invalid}")
    try:
        name, migrations = _spec_migrations(args.spec)
    except (ImportError, AttributeError, TypeError) as wrong:
        sys.exit(f"migrate: {args.spec} is not a service's spec: {wrong}")
    db = open_database(
        settings.database_url, schema=settings.database_schema, name=f"haizhi-{name}-migrate"
    )

    async def run() -> None:
        try:
            await upgrade(db, [migrations])
        finally:
            await db.dispose()

    try:
        asyncio.run(run())
    except (SQLAlchemyError, OSError) as failed:
        sys.exit(f"migrate: {name}'s database: {failed}")
    print(f"{name}: the database is at the newest schema", file=sys.stderr)


if __name__ == "__main__":
    main()
