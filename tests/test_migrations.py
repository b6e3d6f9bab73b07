"""Migrations under faults: kills at any moment of a first start or an upgrade, half-applied
migrations from older releases, databases newer than the code, savepoints on SQLite."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import random
import signal
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.cli import main
from monitor.errors import StoreError
from monitor.models import Alert, Entry
from monitor.store import NewEntry, Store, connect, migrations
from tests.conftest import WriteConfig, article_page, fresh_postgres, rss, wait_until
from tests.servers import ContentServer

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TOPICS = [{"name": "North Korea", "query": "Nordkorea*", "chats": ["default"]}]
# Per backend: 8 kills during first starts, 7 during the upgrade from the previous release (the
# one users make next), 4 during the upgrade from each older version.
KILLS = {
    0: 8,
    **{version: 4 for version in range(1, migrations.LATEST - 1)},
    migrations.LATEST - 1: 7,
}
# Kill delays from the child's start: half while it opens and migrates the database (about
# 0.08-0.15 s in on an idle machine), half anywhere in its first 0.8 s (polling and recording).
EARLY, LATE = (0.04, 0.25), (0.0, 0.8)

_forks = multiprocessing.get_context("forkserver")
# Children fork from a server that has imported the service once: a kill costs milliseconds
# instead of a second of imports, so some 50 kills per backend stay cheap.
# (monitor.cli imports the pipeline only when a command runs it: preload that too.)
_forks.set_forkserver_preload(["monitor.cli", "monitor.app", "tests.test_migrations"])


def _noop() -> None:
    """Nothing: starting it starts the fork server, whose first start is slow."""


def _run_once(environ: dict[str, str], log: str) -> None:
    """The `monitor once` command in a forked child, its output in `log`."""
    with open(log, "ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
    os.environ.clear()
    os.environ.update(environ)
    os._exit(main(["once"]))


def descendants(pid: int) -> set[int]:
    """The processes started by `pid` and by its children (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def schema_of(url: str) -> dict[str, tuple[list[str], list[str]]]:
    """Tables with their columns (in order) and index names."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: (
                [column["name"] for column in inspector.get_columns(table)],
                sorted(str(index["name"]) for index in inspector.get_indexes(table)),
            )
            for table in sorted(inspector.get_table_names())
        }
    finally:
        engine.dispose()


def _exists(url: str) -> bool:
    return not url.startswith("sqlite") or Path(url.removeprefix("sqlite:///")).exists()


def _version(url: str) -> int:
    if not _exists(url):
        return 0
    engine = connect(url)
    try:
        return max(migrations.recorded_versions(engine), default=0)
    finally:
        engine.dispose()


def committed(url: str) -> tuple[set[int], set[int]]:
    """The ids of the entries and alerts committed so far (read without migrating)."""
    if not _exists(url):
        return set(), set()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if "alerts" not in tables:
                return set(), set()
            entry_ids = set(conn.scalars(sa.text("SELECT id FROM entries")))
            alert_ids = set(conn.scalars(sa.text("SELECT id FROM alerts")))
        return entry_ids, alert_ids
    finally:
        engine.dispose()


def seed_old_release(url: str, version: int) -> None:
    """Build the schema of an older release (its first `version` migrations) with data in it."""
    Store.open(url, schema_version=version).close()
    engine = sa.create_engine(url)
    payload = {
        "chat": "default",
        "chat_id": "-100",
        "title": "Nordkorea: alte Meldung",
        "link": None,
        "outlet": "Outlet",
        "published": None,
        "topics": ["North Korea"],
        "snippet": "",
        "highlights": [],
        "from_page": False,
    }
    with engine.begin() as conn:
        for number in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO entries (id, feed, title, seen_at) "
                    "VALUES (:id, 'Outlet', :title, :now)"
                ),
                {"id": 1000 + number, "title": f"Nordkorea: alte Meldung {number}", "now": NOW},
            )
            conn.execute(
                sa.text("INSERT INTO entry_keys (key, entry_id, seen_at) VALUES (:k, :id, :now)"),
                {"k": f"old:{number}", "id": 1000 + number, "now": NOW},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO alerts (entry_id, chat, payload, created_at, status) "
                    "VALUES (:id, 'default', :payload, :now, 'pending')"
                ),
                {"id": 1000 + number, "payload": json.dumps(payload), "now": NOW},
            )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database for the service under test and one for a clean migration to compare with."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'monitor.sqlite'}", f"sqlite:///{tmp_path / 'c.db'}"
        return
    with fresh_postgres() as url, fresh_postgres() as clean:
        yield url, clean


def serve_reports(content: ContentServer, write_config: WriteConfig) -> None:
    items = []
    for number in range(12):
        title = f"Nordkorea: Meldung Nummer {number} über Lieferung {number * 7}"
        link = content.add(
            f"/a/{number}", article_page(title, [f"Absatz {number} " * 20]), "text/html"
        )
        items.append({"title": title, "link": link})
    write_config([{"name": "Outlet", "url": content.add("/feed.xml", rss(items))}], topics=TOPICS)


@pytest.mark.parametrize("from_version", sorted(KILLS))
def test_kills_during_first_start_or_upgrade_never_brick_the_state(
    from_version: int,
    backend: tuple[str, str],
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    tmp_path: Path,
) -> None:
    url, clean_url = backend
    serve_reports(content, write_config)
    warm = _forks.Process(target=_noop)
    warm.start()
    warm.join(30)
    if from_version:
        seed_old_release(url, from_version)
    child_env = {**os.environ, **env, "MONITOR_DATABASE_URL": url}
    log = tmp_path / "children.log"
    rng = random.Random(from_version * 7919 + len(url))
    kept: tuple[set[int], set[int]] = committed(url)
    mid_migration = 0
    workers: set[int] = set()
    for _ in range(KILLS[from_version]):
        child = _forks.Process(target=_run_once, args=(child_env, str(log)))
        child.start()
        child.join(rng.uniform(*rng.choice((EARLY, LATE))))
        if child.exitcode is not None:
            assert child.exitcode == 0, f"a start failed: {log.read_text()[-2000:]}"
        else:
            workers |= descendants(child.pid)  # type: ignore[arg-type]
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
            child.join(10)
        mid_migration += _version(url) < migrations.LATEST
        now = committed(url)
        assert now[0] >= kept[0] and now[1] >= kept[1], "a committed entry or alert was lost"
        kept = now

    # The start that must work after the kills: the same `monitor once`, forked like them
    # (a fresh interpreter would only add a second of imports, not another code path).
    final_log = tmp_path / "final.log"
    final = _forks.Process(target=_run_once, args=(child_env, str(final_log)))
    final.start()
    final.join(120)
    assert final.exitcode == 0, final_log.read_text()[-4000:]
    Store.open(clean_url).close()
    assert schema_of(url) == schema_of(clean_url)
    entry_ids, alert_ids = committed(url)
    assert entry_ids >= kept[0] and alert_ids >= kept[1]
    assert len(entry_ids) == 12 + (3 if from_version else 0)
    wait_until(lambda: not any(map(alive, workers)), "the killed services' workers to exit")
    print(f"from version {from_version}: {mid_migration} of {KILLS[from_version]} kills mid-way")


def test_a_migration_half_applied_by_an_older_release_is_completed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    seed_old_release(url, 1)
    # What an older release left after a kill: migration 2's first column committed on its
    # own (the driver committed DDL outside our transaction), its version row never written.
    with sqlite3.connect(tmp_path / "m.sqlite") as raw:
        raw.execute("ALTER TABLE feeds ADD COLUMN poll_url TEXT")
    with caplog.at_level(logging.WARNING, logger="monitor.store.migrations"):
        store = Store.open(url)
    assert store.schema()[0] == migrations.LATEST
    store.close()
    assert "column feeds.poll_url exists already" in caplog.text
    clean = f"sqlite:///{tmp_path / 'clean.sqlite'}"
    Store.open(clean).close()
    assert schema_of(url) == schema_of(clean)
    assert committed(url)[0] == {1000, 1001, 1002}


def test_a_database_newer_than_the_code_is_refused_untouched(
    database_url: str,
    env: dict[str, str],
    write_config: WriteConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Store.open(database_url).close()
    newer = migrations.LATEST + 2
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO schema_migrations VALUES (:v, 'from the future', :now)"),
            {"v": newer, "now": NOW},
        )
    engine.dispose()
    before = schema_of(database_url)
    digest = _digest(database_url)

    with pytest.raises(StoreError) as refused:
        Store.open(database_url)
    assert f"schema version {newer}, newer than this release's {migrations.LATEST}" in str(
        refused.value
    )
    write_config([])
    monkeypatch.setenv("MONITOR_DATABASE_URL", database_url)
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert f"holds schema version {newer}" in err and "nothing was changed" in err
    assert schema_of(database_url) == before
    assert _digest(database_url) == digest


def _digest(url: str) -> str:
    """The SQLite file's bytes, or the PostgreSQL versions table, as a hash."""
    if url.startswith("sqlite"):
        return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM schema_migrations ORDER BY version")).all()
    engine.dispose()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_upgrading_sqlite_keeps_a_consistent_copy_of_the_older_version(tmp_path: Path) -> None:
    path = tmp_path / "monitor.sqlite"
    url = f"sqlite:///{path}"
    seed_old_release(url, 3)
    Store.open(url).close()
    (backup,) = migrations.backups(path)
    assert backup.name.startswith("monitor.sqlite.v3-")
    old = Store.open(f"sqlite:///{backup}", schema_version=3)
    assert old.schema() == (3, "ok")
    old.close()
    assert committed(f"sqlite:///{backup}")[0] == {1000, 1001, 1002}

    engine = connect(url)
    for _ in range(4):
        migrations.backup_sqlite(engine, migrations.LATEST)
    engine.dispose()
    kept = migrations.backups(path)
    assert len(kept) == migrations.KEEP_BACKUPS
    assert backup not in kept  # the oldest went first
    assert not list(tmp_path.glob("*.partial"))


def test_a_fresh_database_is_not_backed_up(tmp_path: Path) -> None:
    Store.open(f"sqlite:///{tmp_path / 'monitor.sqlite'}").close()
    assert migrations.backups(tmp_path / "monitor.sqlite") == []


def _entry(number: int) -> Entry:
    return Entry("Outlet", None, f"https://e.org/{number}", f"Nordkorea {number}", "", NOW)


def _alert(number: int) -> Alert:
    return Alert(
        "default", "-100", f"Nordkorea {number}", None, "Outlet", NOW, ("T",), "", (), False
    )


def test_a_failing_entry_rolls_back_to_its_savepoint_and_the_poll_keeps_the_rest(
    database_url: str,
) -> None:
    store = Store.open(database_url)
    items = [NewEntry(_entry(n), (f"k:{n}",), None, (_alert(n),)) for n in range(3)]
    # The middle entry queues two alerts for one chat: the unique key refuses the second.
    items[1] = NewEntry(_entry(1), ("k:1",), None, (_alert(1), _alert(1)))
    inserted: set[int] = set()
    assert store.entries.record("Outlet", items, NOW, inserted) == 2
    with store.engine.connect() as conn:
        titles = set(conn.scalars(sa.text("SELECT title FROM entries")))
        keys = set(conn.scalars(sa.text("SELECT key FROM entry_keys")))
        alert_count = conn.scalar(sa.text("SELECT count(*) FROM alerts"))
    store.close()
    assert titles == {"Nordkorea 0", "Nordkorea 2"}
    assert keys == {"k:0", "k:2"}
    assert alert_count == 2
    assert len(inserted) == 2


def test_status_reports_the_schema_version_and_integrity(
    env: dict[str, str], write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config([])
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"schema version {migrations.LATEST} (current)" in out
    assert "integrity check: ok" in out


def test_sqlite_transactions_are_atomic_across_statements(tmp_path: Path) -> None:
    """DDL inside our transaction rolls back with it: the driver no longer commits it alone."""
    engine = connect(f"sqlite:///{tmp_path / 't.sqlite'}")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("killed here")
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("t")
    engine.dispose()


def test_a_poll_that_fails_midway_records_none_of_its_entries(database_url: str) -> None:
    """The savepoints sit inside the poll's transaction: releasing one commits nothing yet."""
    store = Store.open(database_url)
    unbindable = Entry("Outlet", None, "https://e.org/x", object(), "", NOW)  # type: ignore[arg-type]
    items = [
        NewEntry(_entry(0), ("k:0",), None, (_alert(0),)),
        NewEntry(unbindable, ("k:x",), None, ()),
    ]
    with pytest.raises(sa.exc.SQLAlchemyError):
        store.entries.record("Outlet", items, NOW)
    with store.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM entries")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM alerts")) == 0
    store.close()
