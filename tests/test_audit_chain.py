"""The audit trail's hash chain: written by record_change, checked by `ops.audit verify`.

Every test runs on SQLite and on PostgreSQL (the `engine` fixture). Tampering is done by
SQL as the schema's owner, as someone with direct database access would.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy
from sqlalchemy import text

from activities.case_store import CaseStoreActivities
from models.audit_chain import event_hash
from ops import audit
from tests.test_case_store import change


@pytest.fixture
def store(engine: sqlalchemy.Engine) -> CaseStoreActivities:
    return CaseStoreActivities(engine)


def write(store: CaseStoreActivities, seqs: list[int], **view_args: object) -> None:
    for seq in seqs:
        store.record_change(change(seq, **view_args))  # type: ignore[arg-type]


def rows(engine: sqlalchemy.Engine, run_id: str = "run-1") -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT * FROM transferevent WHERE run_id = :r ORDER BY id"), {"r": run_id}
        ).mappings()]


def sql(engine: sqlalchemy.Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def test_each_event_is_chained_to_the_one_before(engine: sqlalchemy.Engine,
                                                 store: CaseStoreActivities) -> None:
    write(store, [1, 2, 3])
    first, second, third = rows(engine)
    assert first["prev_hash"] is None
    assert second["prev_hash"] == first["hash"]
    assert third["prev_hash"] == second["hash"]
    assert third["hash"] == event_hash(third, second["hash"])  # type: ignore[arg-type]
    assert len({first["hash"], second["hash"], third["hash"]}) == 3


def test_a_retried_change_adds_nothing_and_the_chain_holds(
        engine: sqlalchemy.Engine, store: CaseStoreActivities,
        capsys: pytest.CaptureFixture[str]) -> None:
    write(store, [1, 2, 2, 3, 1])
    assert [r["seq"] for r in rows(engine)] == [1, 2, 3]
    assert audit.run(["verify"], engine) == 0
    out = capsys.readouterr().out
    assert "1 transfer(s), 1 run(s), 3 event(s)" in out
    assert "every chain holds" in out


def test_a_late_older_change_is_chained_where_it_was_written(
        engine: sqlalchemy.Engine, store: CaseStoreActivities) -> None:
    # Two changes of one run can be in flight at once (an update and a deadline): the
    # chain follows the order they reached the store, not their seq.
    write(store, [1, 3, 2])
    assert [r["seq"] for r in rows(engine)] == [1, 3, 2]
    assert audit.verify(engine).breaks == []


def test_a_changed_summary_is_found(engine: sqlalchemy.Engine, store: CaseStoreActivities,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    write(store, [1, 2, 3])
    write(store, [1, 2], run_id="run-9", transfer_id="TR-9")
    sql(engine, "UPDATE transferevent SET summary = 'nothing happened' "
                "WHERE run_id = 'run-1' AND seq = 2")
    assert audit.run(["verify"], engine) == 1
    out = capsys.readouterr().out
    assert "2 transfer(s), 2 run(s), 5 event(s)" in out
    (broken,) = [line for line in out.splitlines() if line.startswith("BROKEN")]
    assert "TR-1 (run run-1) seq 2: its content was changed" in broken
    # The other transfer is untouched; checked alone it holds.
    assert audit.run(["verify", "--transfer", "TR-9"], engine) == 0


def test_a_changed_hash_is_found_at_the_next_event(engine: sqlalchemy.Engine,
                                                   store: CaseStoreActivities) -> None:
    # Rewriting an event's hash to match a new summary still breaks the link to the next.
    write(store, [1, 2, 3])
    second = rows(engine)[1] | {"summary": "nothing happened"}
    forged = event_hash(second, second["prev_hash"])  # type: ignore[arg-type]
    sql(engine, "UPDATE transferevent SET summary = 'nothing happened', hash = :h "
                "WHERE run_id = 'run-1' AND seq = 2", h=forged)
    (found,) = audit.verify(engine).breaks
    assert (found.transfer_id, found.seq) == ("TR-1", 3)
    assert "the event before it is missing or was changed" in found.problem


def test_a_deleted_middle_event_is_found(engine: sqlalchemy.Engine, store: CaseStoreActivities,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    write(store, [1, 2, 3, 4])
    sql(engine, "DELETE FROM transferevent WHERE run_id = 'run-1' AND seq = 2")
    assert audit.run(["verify", "--transfer", "TR-1"], engine) == 1
    out = capsys.readouterr().out
    assert "checked transfer TR-1: 1 transfer(s), 1 run(s), 3 event(s)" in out
    assert "TR-1 (run run-1) seq 3: the event before it is missing" in out
    assert "seq 2 missing from the trail" in out


def test_deleted_newest_events_are_found(engine: sqlalchemy.Engine,
                                         store: CaseStoreActivities) -> None:
    write(store, [1, 2, 3])
    sql(engine, "DELETE FROM transferevent WHERE run_id = 'run-1' AND seq = 3")
    (found,) = audit.verify(engine).breaks
    assert found.seq == 3 and "its newest events are missing" in found.problem
    sql(engine, "DELETE FROM transferevent WHERE run_id = 'run-1'")
    (found,) = audit.verify(engine).breaks
    assert "holds no events for this run" in found.problem


def test_an_unknown_transfer_is_said_so(engine: sqlalchemy.Engine,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.run(["verify", "--transfer", "TR-404"], engine) == 0
    assert "no events or current row found for TR-404" in capsys.readouterr().out


def test_events_written_before_the_chain_are_chained_by_the_migration(
        store_url: str, engine: sqlalchemy.Engine) -> None:
    from alembic import command

    from database import alembic_config

    command.downgrade(alembic_config(store_url), "0003")
    for seq, run in ((1, "run-1"), (2, "run-1"), (1, "run-2")):
        sql(engine, "INSERT INTO transferevent (run_id, transfer_id, seq, at, kind, summary, "
                    "stage) VALUES (:r, 'TR-1', :s, :at, 'started', 'a change', 'proposed')",
            r=run, s=seq, at=datetime(2027, 6, 7, 9, 0, 0, 123456, tzinfo=UTC))
    command.upgrade(alembic_config(store_url), "head")
    assert audit.verify(engine).breaks == []
    first, second = rows(engine)
    assert first["prev_hash"] is None and second["prev_hash"] == first["hash"]
    assert rows(engine, "run-2")[0]["prev_hash"] is None


def test_changes_written_at_once_never_fork_the_chain(engine: sqlalchemy.Engine,
                                                      store: CaseStoreActivities) -> None:
    # Each change of one run waits for the one before to be chained and committed.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda seq: store.record_change(change(seq)), range(1, 25)))
    written = rows(engine)
    assert sorted(int(str(r["seq"])) for r in written) == list(range(1, 25))
    assert len({r["prev_hash"] for r in written}) == 24
    assert audit.verify(engine).breaks == []
