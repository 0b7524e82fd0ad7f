"""(c) The mail server is down for a while: transfers go on, the outbox holds every email
(unsent, attempts counted, the error kept), and when the server is back each email is
delivered exactly once, by the delivery activity's own retry (5 s, then 10 s, 20 s ...
up to 10 min): no worker restart, no operator sweep.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy

from ops.stack import Stack
from tests.faults.conftest import (
    EMAILS_PER_TRANSFER,
    Managers,
    SmtpServer,
    all_sent,
    notifications,
    stages,
    until,
)
from tests.faults.invariants import check_store

TRANSFERS = 5


async def test_smtp_outage_delivers_each_email_once(stack: Stack, smtp: SmtpServer,
                                                    store: sqlalchemy.Engine,
                                                    managers: Managers) -> None:
    anchor = datetime.now(UTC) - timedelta(days=21)  # the deadline has passed: breach at once
    smtp.stop()
    down = time.monotonic()

    # Managers are not held up by the mail server: every transfer reaches allocation.
    await asyncio.gather(*[managers.gateshead_lifecycle(f"M{i:03d}", anchor)
                           for i in range(TRANSFERS)])
    assert set(stages(store).values()) == {"allocated"}
    expected = TRANSFERS * EMAILS_PER_TRANSFER

    # The outbox holds: every email written once, none sent, each tried and the error kept;
    # then at least one has been retried (and failed again) while the server is still down.
    rows = await until(lambda: notifications(store),
                       lambda rs: len(rs) == expected and all(r.attempts >= 1 for r in rs),
                       timeout=30, what="every email tried once")
    assert all(r.sent_at is None for r in rows)
    assert all(r.last_error and "Connection refused" in r.last_error for r in rows), \
        {r.last_error for r in rows}
    await until(lambda: notifications(store), lambda rs: any(r.attempts >= 2 for r in rs),
                timeout=30, what="a delivery retried during the outage")
    assert not smtp.box.messages
    smtp.start()
    back = time.monotonic()

    await until(lambda: all_sent(store), bool, timeout=60, what="every email delivered")
    delivered = time.monotonic()
    state = check_store(store, mailbox=smtp.box)
    assert len(state.notifications) == len(smtp.box.messages) == expected
    assert all(n.last_error is None for n in state.notifications)
    attempts = Counter(n.attempts for n in state.notifications)
    print(f"\n(c) {TRANSFERS} transfers allocated during the outage; {expected} emails "  # noqa: T201
          f"held, mail server down {back - down:.1f} s, every email delivered "
          f"{delivered - back:.1f} s after it came back, each accepted once; attempts per "
          f"email: {dict(sorted(attempts.items()))}")
