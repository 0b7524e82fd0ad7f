"""The audit trail's hash chain: how an event's hash is computed, and how a trail is checked.

Each run's events form one chain in the order they were written (the table's `id`):
an event's `hash` is SHA-256 over a canonical encoding of its fields and of the previous
event's hash (`prev_hash`; none for the run's first event). Editing any hashed field,
deleting an event other than the last, or inserting one in between breaks the chain at
that event. The chain alone cannot show that the newest events were cut off, so the check
also compares the trail's highest seq with the seq the run's current row last recorded.

The encoding is versioned (`v`): changing it would make every stored hash disagree, so a
new encoding must get a new version and the check must keep accepting the old one.

Pure functions only: no engine, no settings (see models/__init__).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VERSION = 1
HASHED = ("run_id", "transfer_id", "seq", "at", "kind", "summary", "actor_id", "actor_role",
          "actor_team", "note_ref", "stage")


def canonical_at(value: datetime | str) -> str:
    """A stored time as UTC text with microseconds (SQLite hands times back without an
    offset, or as text when read without the table's types; PostgreSQL with an offset: all
    must encode alike)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: Mapping[str, Any], prev_hash: str | None) -> bytes:
    """The bytes that are hashed: the event's fields and the previous hash, as JSON with
    sorted keys and no spaces (one encoding for one content)."""
    fields: dict[str, Any] = {name: event[name] for name in HASHED}
    fields["at"] = canonical_at(event["at"])
    fields["seq"] = int(event["seq"])
    fields["prev_hash"] = prev_hash
    fields["v"] = VERSION
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def event_hash(event: Mapping[str, Any], prev_hash: str | None) -> str:
    return hashlib.sha256(canonical(event, prev_hash)).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where a run's chain does not hold, and what differs."""

    transfer_id: str
    run_id: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "trail"
        return f"{self.transfer_id} (run {self.run_id}) {where}: {self.problem}"


def check_run(events: Iterable[Mapping[str, Any]], *, recorded_seq: int | None = None
              ) -> list[Break]:
    """Check one run's events, given in the order they were written (by `id`).

    `recorded_seq` is the seq on the run's current row (None if the run has none): the
    trail must reach it, or its newest events are missing.
    """
    breaks: list[Break] = []
    prev: str | None = None
    seqs: list[int] = []
    transfer_id = run_id = ""
    for event in events:
        transfer_id, run_id, seq = event["transfer_id"], event["run_id"], int(event["seq"])
        seqs.append(seq)
        if event["prev_hash"] != prev:
            breaks.append(Break(transfer_id, run_id, seq, (
                "the event before it is missing or was changed (its prev_hash "
                f"{_short(event['prev_hash'])} does not match the previous event's hash "
                f"{_short(prev)})")))
        expected = event_hash(event, event["prev_hash"])
        if event["hash"] != expected:
            breaks.append(Break(transfer_id, run_id, seq, (
                f"its content was changed after it was written (stored hash "
                f"{_short(event['hash'])}, content hashes to {_short(expected)})")))
        prev = event["hash"]
    if not seqs:
        return breaks
    present = set(seqs)
    missing = [s for s in range(1, max(seqs) + 1) if s not in present]
    if missing:
        breaks.append(Break(transfer_id, run_id, missing[0],
                            f"seq {', '.join(map(str, missing[:10]))} missing from the trail"))
    if recorded_seq is not None and max(seqs) < recorded_seq:
        breaks.append(Break(transfer_id, run_id, recorded_seq, (
            f"the transfer's current row was written by seq {recorded_seq}, but the trail "
            f"ends at seq {max(seqs)}: its newest events are missing")))
    return breaks


def _short(value: str | None) -> str:
    return "none" if value is None else value[:12]
