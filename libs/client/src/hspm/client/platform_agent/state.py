"""The agent's durable memory, in one SQLite file: a restart loses nothing, repeats nothing.

The stream position is written in the same transaction as the desired state it leads to,
so after a crash the agent resumes exactly after the last change it took in, and
converges the containers from what it had recorded (driver actions are idempotent: a
change taken in but not yet applied is applied on start-up, never twice).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS position (k INTEGER PRIMARY KEY CHECK (k = 1), epoch TEXT, seq INTEGER);
CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, model TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (build_id TEXT PRIMARY KEY, product_id TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deployments (instance_id TEXT PRIMARY KEY, spec TEXT NOT NULL,
    fingerprint TEXT NOT NULL, deployed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (instance_id TEXT, fingerprint TEXT, reason TEXT,
    PRIMARY KEY (instance_id, fingerprint));
CREATE TABLE IF NOT EXISTS reports (instance_id TEXT PRIMARY KEY, body TEXT NOT NULL, sent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recalls (id TEXT PRIMARY KEY, model TEXT NOT NULL, applied_at TEXT,
    acked_at TEXT);
CREATE TABLE IF NOT EXISTS overrides (instance_id TEXT PRIMARY KEY, build_id TEXT NOT NULL,
    recall_id TEXT NOT NULL, action TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked (entitlement_id TEXT PRIMARY KEY);
"""


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class State:
    """Typed reads and writes over the agent's SQLite file (``state_dir/agent.db``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        # WAL + FULL: a committed change survives a kill of the process or of the machine.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- the stream position

    def position(self) -> tuple[str | None, int | None]:
        row = self.db.execute("SELECT epoch, seq FROM position WHERE k = 1").fetchone()
        return (row[0], row[1]) if row else (None, None)

    def set_position(self, epoch: str, seq: int) -> None:
        self.db.execute(
            "INSERT INTO position VALUES (1, ?, ?) ON CONFLICT (k) DO UPDATE SET epoch = ?, seq = ?",
            (epoch, seq, epoch, seq),
        )

    # -- desired instances (the notifier's model.instance, or a resync's entry)

    def instances(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT id, model FROM instances ORDER BY id")
        return {r[0]: json.loads(r[1]) for r in rows}

    def put_instance(self, model: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO instances VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET model = excluded.model",
            (str(model["id"]), json.dumps(model)),
        )

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT model FROM instances WHERE id = ?", (instance_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def drop_instance(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM instances WHERE id = ?", (instance_id,))

    # -- build documents, kept so a recalled (no longer public) build still has its tasks

    def document(self, build_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM documents WHERE build_id = ?", (build_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def product_of(self, build_id: str) -> str | None:
        row = self.db.execute("SELECT product_id FROM documents WHERE build_id = ?", (build_id,)).fetchone()
        return str(row[0]) if row else None

    def put_document(self, build_id: str, product_id: str, body: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?)", (build_id, product_id, json.dumps(body))
        )

    # -- what was last rolled out healthy, per instance

    def deployment(self, instance_id: str) -> tuple[dict[str, Any], str, str] | None:
        row = self.db.execute(
            "SELECT spec, fingerprint, deployed_at FROM deployments WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        return (json.loads(row[0]), row[1], row[2]) if row else None

    def put_deployment(self, instance_id: str, spec: dict[str, Any], fingerprint: str, at: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO deployments VALUES (?, ?, ?, ?)",
            (instance_id, json.dumps(spec), fingerprint, at),
        )

    def drop_deployment(self, instance_id: str) -> None:
        """Forget everything of an instance that is gone, its recall override included."""
        self.drop_rollout(instance_id)
        self.drop_override(instance_id)

    def drop_rollout(self, instance_id: str) -> None:
        """Forget what ran and what failed, keeping any recall override: an instance a
        recall stopped must stay stopped at the next pass."""
        for table in ("deployments", "failures"):
            self.db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))  # noqa: S608

    # -- rollouts that did not become healthy (not retried until the spec changes)

    def failure(self, instance_id: str, fingerprint: str) -> str | None:
        row = self.db.execute(
            "SELECT reason FROM failures WHERE instance_id = ? AND fingerprint = ?",
            (instance_id, fingerprint),
        ).fetchone()
        return str(row[0]) if row else None

    def put_failure(self, instance_id: str, fingerprint: str, reason: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO failures VALUES (?, ?, ?)", (instance_id, fingerprint, reason)
        )

    # -- status reports: the last one per instance, and whether the server has it

    def report(self, instance_id: str) -> tuple[dict[str, Any], bool] | None:
        row = self.db.execute(
            "SELECT body, sent FROM reports WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        return (json.loads(row[0]), bool(row[1])) if row else None

    def put_report(self, instance_id: str, body: dict[str, Any], sent: bool) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO reports VALUES (?, ?, ?)", (instance_id, json.dumps(body), int(sent))
        )

    def unsent_reports(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.db.execute("SELECT body FROM reports WHERE sent = 0")]

    def mark_reports_unsent(self) -> None:
        self.db.execute("UPDATE reports SET sent = 0")

    def drop_report(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM reports WHERE instance_id = ?", (instance_id,))

    # -- recalls and the overrides they caused

    def recall(self, recall_id: str) -> tuple[dict[str, Any], str | None, str | None] | None:
        row = self.db.execute(
            "SELECT model, applied_at, acked_at FROM recalls WHERE id = ?", (recall_id,)
        ).fetchone()
        return (json.loads(row[0]), row[1], row[2]) if row else None

    def put_recall(self, recall_id: str, model: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO recalls (id, model) VALUES (?, ?)", (recall_id, json.dumps(model))
        )

    def mark_recall(self, recall_id: str, column: str) -> None:
        assert column in ("applied_at", "acked_at")
        # (Re)applying owes the marketplace an acknowledgement, even one sent before.
        also = ", acked_at = NULL" if column == "applied_at" else ""
        self.db.execute(f"UPDATE recalls SET {column} = ?{also} WHERE id = ?", (now_text(), recall_id))  # noqa: S608

    def unapplied_recalls(self) -> list[str]:
        return [str(r[0]) for r in self.db.execute("SELECT id FROM recalls WHERE applied_at IS NULL")]

    def unacked_recalls(self) -> list[str]:
        rows = self.db.execute("SELECT id FROM recalls WHERE applied_at IS NOT NULL AND acked_at IS NULL")
        return [str(r[0]) for r in rows]

    def override(self, instance_id: str) -> tuple[str, str, str] | None:
        row = self.db.execute(
            "SELECT build_id, recall_id, action FROM overrides WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def put_override(self, instance_id: str, build_id: str, recall_id: str, action: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?)", (instance_id, build_id, recall_id, action)
        )

    def drop_override(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM overrides WHERE instance_id = ?", (instance_id,))

    # -- entitlements the stream said were revoked or expired

    def revoke(self, entitlement_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO revoked VALUES (?)", (entitlement_id,))

    def unrevoke(self, entitlement_id: str) -> None:
        self.db.execute("DELETE FROM revoked WHERE entitlement_id = ?", (entitlement_id,))

    def revoked(self) -> set[str]:
        return {str(r[0]) for r in self.db.execute("SELECT entitlement_id FROM revoked")}
