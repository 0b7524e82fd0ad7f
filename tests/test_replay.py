"""Replay committed histories against today's workflow code: running transfers must not break.

Every file under `tests/histories/` is replayed, sub-folders included: the three Gateshead
SGCP -> LAC histories at the top, and `<authority>/<pathway>.json`, one per pathway of every
protocol walked along its typical path (plus `<pathway>--<variant>.json`: disputes, meeting
outcomes, clock changes, withdrawals, breaches).

Regenerate only on purpose, when an old code path is retired: the top-level ones with
`RECORD_HISTORIES=1 pytest tests/test_case_transfer_workflow.py`, the per-pathway ones with
`RECORD_HISTORIES=1 pytest tests/faults/record_histories.py`. A change that fails here needs
`workflow.patched`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.scenario import PROTOCOLS
from tests.transfers import HISTORIES
from workflows.case_transfer import CaseTransferWorkflow

FILES = sorted(HISTORIES.rglob("*.json"))


def _name(path: Path) -> str:
    return path.relative_to(HISTORIES).with_suffix("").as_posix()


def test_histories_are_committed() -> None:
    assert len([p for p in FILES if p.parent == HISTORIES]) >= 3
    # One history per pathway of every protocol.
    recorded = {_name(p) for p in FILES}
    missing = [f"{a}/{p}" for a, protocol in PROTOCOLS.items() for p in protocol.pathways
               if f"{a}/{p}" not in recorded]
    assert not missing, f"no history for: {missing}"


@pytest.mark.parametrize("path", FILES, ids=[_name(p) for p in FILES])
async def test_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[CaseTransferWorkflow], data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(_name(path), path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
