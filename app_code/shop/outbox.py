"""The outbox relay: publishes committed outbox rows to the EventBridge bus, at least once.

Rows are claimed with `FOR UPDATE SKIP LOCKED` (relays never publish the same row concurrently), sent
with PutEvents in batches of at most 10, and only the entries EventBridge accepted are marked
published; the rest count an attempt and are retried on the next pass. A crash between PutEvents
and the commit leaves the rows unpublished, so they are sent again: consumers deduplicate on the
stable `detail.event_id`.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from psycopg import sql

from shop.db import Connection, Database

logger = logging.getLogger("shop.outbox")
MAX_ENTRIES_PER_PUT = 10  # PutEvents' limit


@dataclass(frozen=True)
class RelayReport:
    published: int = 0
    failed: int = 0

    def __add__(self, other: RelayReport) -> RelayReport:
        return RelayReport(self.published + other.published, self.failed + other.failed)


class OutboxRelay:
    def __init__(self, db: Database, events: Any, bus_name: str, *,
                 batch_size: int = MAX_ENTRIES_PER_PUT) -> None:
        if not 1 <= batch_size <= MAX_ENTRIES_PER_PUT:
            raise ValueError(f"batch_size must be 1 to {MAX_ENTRIES_PER_PUT}")
        self._db = db
        self._events = events
        self._bus = bus_name
        self._batch = batch_size

    def publish_pending(self, *, max_batches: int = 100) -> RelayReport:
        """Sweep unpublished rows, oldest first, until none are left or a batch makes no progress."""
        report = RelayReport()
        with self._db.connection() as conn:
            for _ in range(max_batches):
                claimed, batch = self._publish_batch(conn, None)
                report += batch
                if claimed < self._batch or batch.published == 0:
                    break
        return report

    def publish(self, event_ids: Sequence[uuid.UUID]) -> RelayReport:
        """Publish just these rows (right after the commit that wrote them); skip ones already claimed."""
        report = RelayReport()
        ids = list(event_ids)
        with self._db.connection() as conn:
            for start in range(0, len(ids), self._batch):
                report += self._publish_batch(conn, ids[start:start + self._batch])[1]
        return report

    def _publish_batch(self, conn: Connection, only: list[uuid.UUID] | None) -> tuple[int, RelayReport]:
        where = sql.SQL("published_at IS NULL")
        params: list[Any] = []
        if only is not None:
            where = sql.SQL("published_at IS NULL AND event_id = ANY(%s)")
            params.append(only)
        template = sql.SQL("""SELECT event_id, source, detail_type, detail, created_at FROM outbox
                               WHERE {where} ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED""")
        query = template.format(where=where)
        with conn.transaction():
            rows = conn.execute(query, [*params, self._batch]).fetchall()
            if not rows:
                return 0, RelayReport()
            entries = [{"Source": row["source"], "DetailType": row["detail_type"],
                        "Detail": json.dumps(row["detail"], separators=(",", ":")),
                        "Time": row["created_at"], "EventBusName": self._bus} for row in rows]
            try:
                response = self._events.put_events(Entries=entries)
                results = response.get("Entries", [])
            except (ClientError, BotoCoreError) as error:
                logger.warning("PutEvents failed for a batch of %d: %s", len(rows), type(error).__name__)
                results = [{"ErrorCode": type(error).__name__, "ErrorMessage": str(error)[:200]}] * len(rows)
            accepted = [row["event_id"] for row, result in zip(rows, results, strict=False)
                        if result.get("EventId") and not result.get("ErrorCode")]
            refused = [(f"{result.get('ErrorCode')}: {result.get('ErrorMessage', '')}"[:500], row["event_id"])
                       for row, result in zip(rows, results, strict=False)
                       if not (result.get("EventId") and not result.get("ErrorCode"))]
            refused += [("no result for entry", row["event_id"]) for row in rows[len(results):]]
            if accepted:
                conn.execute("UPDATE outbox SET published_at = now(), attempts = attempts + 1, "
                             "last_error = NULL WHERE event_id = ANY(%s)", (accepted,))
            if refused:
                with conn.cursor() as cursor:
                    cursor.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = %s "
                                       "WHERE event_id = %s", refused)
                logger.warning("EventBridge refused %d of %d entries; they stay queued",
                               len(refused), len(rows))
        return len(rows), RelayReport(published=len(accepted), failed=len(refused))


class AfterCommitPublisher:
    """Publishes outbox rows right after the commits that wrote them, batching what piles up.

    Every request that commits an event hands its ids to `publish`. One caller at a time does the
    publishing; ids handed over while it runs are added to its next round (the relay sends up to
    MAX_ENTRIES_PER_PUT per PutEvents), and the other callers return at once. A lone request
    publishes its own event before `publish` returns, as before; under load a burst of orders
    costs a few PutEvents calls and relay transactions instead of one of each per order.

    At least once as ever: an id whose round fails stays unpublished in the outbox, and the
    scheduled relay publishes it within a minute.
    """

    def __init__(self, relay: OutboxRelay) -> None:
        self._relay = relay
        self._lock = threading.Lock()
        self._pending: list[uuid.UUID] = []
        self._running = False

    def publish(self, event_ids: Sequence[uuid.UUID]) -> None:
        with self._lock:
            self._pending.extend(event_ids)
            if self._running:
                return  # the caller publishing now takes these in its next round
            self._running = True
        try:
            while batch := self._take():
                try:
                    self._relay.publish(batch)
                except Exception:  # the scheduled relay publishes them within a minute
                    logger.warning("immediate publish of %d event(s) failed; the scheduled relay will "
                                   "publish", len(batch), exc_info=True)
        except BaseException:
            with self._lock:
                self._running = False
            raise

    def _take(self) -> list[uuid.UUID]:
        """The ids handed over so far; none means this caller's turn ends (decided under the lock, so
        that an id handed over meanwhile is never left without a publisher)."""
        with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                self._running = False
            return batch
