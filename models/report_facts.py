"""The few facts the timeliness report needs from a transfer's view, kept as columns of
its current row (written by the case store, filled for older rows by migration 0007), so
the report reads plain columns rather than parsing every row's JSON view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

BREACHED = ("missed", "met_late")
TRANSFER_DEADLINE = "transferred"  # met_when of the deadlines that decide "within timescale"


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def facts(anchor_at: datetime | str | None, transferred_at: datetime | str | None,
          deadlines: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """anchor_at, transferred_at (UTC), `breached`: the ids of the deadlines missed or met
    late, space-separated in the view's order (None when none), and `transfer_late`:
    whether one of them is a transfer deadline. `deadlines` are (id, status, met_when)."""
    breached = [(i, met_when) for i, status, met_when in deadlines if status in BREACHED]
    return {"anchor_at": _utc(anchor_at), "transferred_at": _utc(transferred_at),
            "breached": " ".join(i for i, _ in breached) or None,
            "transfer_late": any(m == TRANSFER_DEADLINE for _, m in breached)}


def facts_of_json(view: Mapping[str, Any]) -> dict[str, Any]:
    """The same facts from a stored view (its JSON, decoded)."""
    return facts(view.get("anchor_at"), view.get("transferred_at"),
                 ((str(d.get("id")), str(d.get("status")), str(d.get("met_when") or ""))
                  for d in view.get("deadlines") or ()))
