"""Copy a whole database into an empty one (`monitor migrate-state`: SQLite to PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.errors import StoreError
from monitor.store.engine import safe_url
from monitor.store.schema import (
    alerts,
    chats,
    entries,
    entry_keys,
    feeds,
    grades,
    heartbeats,
    mutes,
)
from monitor.store.store import Store

# Tables in the order a copy must fill them (references first); leases are not copied.
COPIED_TABLES = (feeds, entries, entry_keys, alerts, grades, chats, mutes, heartbeats)


def copy_state(source: Store, target: Store, batch: int = 1000) -> dict[str, int]:
    """Copy every row of `source` into the empty, migrated `target`; return rows per table.

    Ids are kept, so alerts still point at their entries; PostgreSQL's id sequences are
    moved past the copied ids. Raises `ValueError` when the target already holds entries.
    """
    with target.engine.connect() as conn:
        present = conn.scalar(sa.select(sa.func.count()).select_from(entries))
    if present:
        raise ValueError(f"the target already holds {present} entries; copy into an empty one")
    copied: dict[str, int] = {}
    with source.engine.connect() as reader, target.write() as writer:
        for table in COPIED_TABLES:
            rows = reader.execution_options(yield_per=batch).execute(sa.select(table)).mappings()
            count = 0
            for chunk in rows.partitions(batch):
                writer.execute(table.insert(), [dict(row) for row in chunk])
                count += len(chunk)
            copied[table.name] = count
        if writer.dialect.name == "postgresql":
            for table in (entries, alerts):
                writer.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                    )
                )
    return copied


def migrate_state(source_url: str, target_url: str) -> tuple[str, dict[str, int]]:
    """Copy the database at `source_url` into the empty one at `target_url` (`copy_state`).

    Returns the target URL without its password, and rows copied per table; raises
    `StoreError` when either cannot be opened or the target is not empty.
    """
    shown = safe_url(target_url)
    source = Store.open(source_url)
    try:
        target = Store.open(target_url)
    except StoreError:
        source.close()
        raise
    try:
        return shown, copy_state(source, target)
    except ValueError as exc:
        raise StoreError(f"{shown}: {exc}") from None
    finally:
        source.close()
        target.close()
