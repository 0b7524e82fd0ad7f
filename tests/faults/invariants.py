"""What must hold after any fault: nothing lost, nothing done twice, one team responsible.

Checked from the case store (and, when given, what the SMTP server accepted), so the
same checks serve every fault test whatever broke.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message

import sqlalchemy
from sqlmodel import Session, col, select

from models.tables import Notification, Transfer, TransferEvent
from models.transfer import FINAL_STAGES, Stage, TransferView
from tests.mail import Mailbox

SENDING_STAGES = {Stage.proposed, Stage.ready, Stage.disputed, Stage.withdrawn,
                  Stage.redirected, Stage.declined}


@dataclass
class StoreState:
    transfers: list[Transfer]
    events: dict[str, list[TransferEvent]]  # by run id, in seq order
    notifications: list[Notification]


def read_store(engine: sqlalchemy.Engine) -> StoreState:
    with Session(engine) as session:
        transfers = list(session.exec(select(Transfer)))
        events: dict[str, list[TransferEvent]] = {}
        for event in session.exec(select(TransferEvent).order_by(col(TransferEvent.run_id),
                                                                 col(TransferEvent.seq))):
            events.setdefault(event.run_id, []).append(event)
        notifications = list(session.exec(select(Notification)))
    return StoreState(transfers, events, notifications)


POINTS = {"transferred", "case_closed", "completed"}


def caseflow_key(message: Message) -> str:
    """The outbox key a message carries. A long one arrives folded over lines and, having no
    spaces to fold at, RFC 2047-encoded in pieces: decode, then drop the folding whitespace."""
    header = str(make_header(decode_header(str(message["X-Caseflow-Key"]))))
    return "".join(header.split())


def responsible_team(stage: str, from_team: str, to_team: str) -> str:
    """Exactly one team at every instant: the sending team until the transfer, then the
    receiving team."""
    return from_team if Stage(stage) in SENDING_STAGES else to_team


def check_store(engine: sqlalchemy.Engine, *, mailbox: Mailbox | None = None,
                delivered: bool = True, resent: frozenset[str] = frozenset()) -> StoreState:
    """Raise AssertionError naming the first broken invariant; return what was read.

    `resent`: outbox keys allowed a second identical copy (same Message-ID), because a
    worker killed between the SMTP server's 250 and the commit sends it again: SMTP
    cannot be exactly-once across a crash, so the copy must be recognisable instead.
    """
    state = read_store(engine)
    for row in state.transfers:
        trail = state.events.get(row.run_id, [])
        seqs = [e.seq for e in trail]
        assert seqs == list(range(1, len(trail) + 1)), (
            f"{row.transfer_id}: events must be recorded once each, in order: {seqs}")
        assert trail and trail[0].kind == "started", f"{row.transfer_id}: no 'started' event"
        assert row.seq == seqs[-1], f"{row.transfer_id}: current row lags its events"
        view = TransferView.model_validate(row.view)
        # The transfer point: the case moved, closed, or (a notification) its steps completed.
        transferred = [e for e in trail if e.kind in POINTS]
        assert len(transferred) <= 1, f"{row.transfer_id}: transferred twice"
        stays = [e.kind for e in transferred] == ["completed"]  # responsibility never moved
        assert view.responsible_team == (view.from_team if stays else responsible_team(
            view.stage, view.from_team, view.to_team)), row.transfer_id
        # Before the transfer instant every change left the sending team responsible.
        cut = transferred[0].seq if transferred else len(trail) + 1
        early = {Stage(e.stage) for e in trail if e.seq < cut}
        assert early <= SENDING_STAGES, f"{row.transfer_id}: {early - SENDING_STAGES}"
        finals = [e for e in trail if Stage(e.stage) in FINAL_STAGES]
        assert all(e.seq == trail[-1].seq for e in finals[1:]), f"{row.transfer_id}: ended twice"
    keys = Counter(n.key for n in state.notifications)
    assert all(c == 1 for c in keys.values()), "an email was written twice"
    if delivered:
        unsent = [n.key for n in state.notifications if n.sent_at is None]
        assert not unsent, f"emails never delivered: {unsent[:5]}"
    if mailbox is not None:
        # Long headers arrive folded over lines: unfold before comparing.
        accepted = Counter(caseflow_key(m) for _, m in mailbox.messages)
        for n in state.notifications:
            if n.sent_at is not None:
                allowed = (1, 2) if n.key in resent else (1,)
                assert accepted[n.key] in allowed, f"{n.key} accepted {accepted[n.key]} times"
    return state
