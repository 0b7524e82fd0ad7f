"""Replay committed histories against today's workflow code: running transfers must not break.

Regenerate only on purpose (`RECORD_HISTORIES=1 pytest tests/test_case_transfer_workflow.py`),
when an old code path is retired; a change that fails here needs `workflow.patched`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.transfers import HISTORIES
from workflows.case_transfer import CaseTransferWorkflow

FILES = sorted(HISTORIES.glob("*.json"))


def test_histories_are_committed() -> None:
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[CaseTransferWorkflow], data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
