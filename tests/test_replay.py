"""Replay committed histories against today's workflow code: running transfers must not break.

Every file under `tests/histories/` is replayed, sub-folders included: the three Gateshead
SGCP -> LAC histories at the top, and `<authority>/<pathway>.json`, one per pathway of every
protocol walked along its typical path (plus `<pathway>--<variant>.json`: disputes, meeting
outcomes, clock changes, withdrawals, breaches). `before-lean-history/` holds the same set
recorded before the "lean-history" patch, and the three at the top are older still.
`before-note-ref/` holds a transfer recalculated twice when the reason still travelled as
text in the `recalculate` Update (before it was kept in the case store, sent as a note ref).
`note-ref/` holds the same with the reason as a note ref, recorded encrypted (with the
tests' fixed key, tests/converter.py): the replayer decrypts it; the plaintext histories
pass through. `checked-asker/` holds it on today's path: the workflow checks who starts it
and who recalculates (patches "start-checks-starter", "recalculation-checks-asker").
`engine/` holds one history per capability of the engine's own test protocol
(`tests/protocols/testshire.yaml`: joint decisions, parties, conditional steps, ...), recorded
with `RECORD_HISTORIES=1 pytest tests/test_engine_capabilities.py`.

Regenerate only on purpose, when an old code path is retired: the top-level ones with
`RECORD_HISTORIES=1 pytest tests/test_case_transfer_workflow.py`, the per-pathway ones with
`RECORD_HISTORIES=1 pytest tests/faults/record_histories.py`. A change that fails here needs
`workflow.patched`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.converter import CONVERTER
from tests.scenario import PROTOCOLS
from tests.transfers import HISTORIES
from workflows.case_transfer import CaseTransferWorkflow

FILES = sorted(HISTORIES.rglob("*.json"))
# Recorded before workflow.patched("lean-history") (record and plan as local activities): they
# guard the old path, which transfers started before it still take.
BEFORE_LEAN = "before-lean-history"


def _name(path: Path) -> str:
    return path.relative_to(HISTORIES).with_suffix("").as_posix()


@pytest.mark.parametrize("generation", ["", f"{BEFORE_LEAN}/"])
def test_histories_are_committed(generation: str) -> None:
    assert len([p for p in FILES if p.parent == HISTORIES]) >= 3
    # One history per pathway of every protocol, on today's code path and on the one before
    # the "lean-history" patch (transfers started then may still be running).
    recorded = {_name(p) for p in FILES}
    wanted = [f"{a}/{p}" for a, protocol in PROTOCOLS.items() for p in protocol.pathways]
    if generation:
        # Only the pathways there were then: a later one never ran the old path.
        then = [line for line in (HISTORIES / BEFORE_LEAN / "pathways.txt").read_text()
                .splitlines() if line and not line.startswith("#")]
        assert set(then) <= set(wanted), "a listed pathway is gone: edit pathways.txt on purpose"
        wanted = then
    missing = [f"{generation}{name}" for name in wanted if f"{generation}{name}" not in recorded]
    assert not missing, f"no history for: {missing}"


@pytest.mark.parametrize("path", FILES, ids=[_name(p) for p in FILES])
async def test_history_replays(path: Path) -> None:
    # The project's converter: payloads it encrypted are decrypted, older plaintext ones pass.
    replayer = Replayer(workflows=[CaseTransferWorkflow], data_converter=CONVERTER)
    history = WorkflowHistory.from_json(_name(path), path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
