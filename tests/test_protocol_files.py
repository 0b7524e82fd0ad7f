"""Protocol files: the real one loads; a malformed one is refused naming file, field, problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.protocol import Duration, DurationUnit, GateKind, Role, RoleRef, Side
from models.protocol_files import ProtocolFileError, load_protocol, load_protocols

PROTOCOLS = Path(__file__).resolve().parent.parent / "protocols"
GATESHEAD = yaml.safe_load((PROTOCOLS / "gateshead.yaml").read_text(encoding="utf-8"))
PW = "pathways.sgcp-to-lac"


def test_gateshead_loads() -> None:
    protocol = load_protocol(PROTOCOLS / "gateshead.yaml")
    assert set(load_protocols(PROTOCOLS)) >= {"gateshead"}
    pathway = protocol.pathways["sgcp-to-lac"]
    assert (pathway.sending, pathway.receiving) == ("sgcp", "lac")

    checklist = pathway.gates["checklist"]
    assert checklist.kind is GateKind.checklist
    assert checklist.items == [
        "chronology_up_to_date",
        "recording_up_to_date",
        "relationships_up_to_date",
        "genogram_current",
        "observations_up_to_date",
        "assessments_up_to_date",
    ]

    transfer_by = pathway.deadlines["transfer_by"]
    assert transfer_by.within == Duration(amount=10, unit=DurationUnit.working_days)
    assert str(transfer_by.within) == "10 working days"
    assert (transfer_by.start, transfer_by.met_when) == ("anchor", "transferred")
    service_manager = [RoleRef(role=Role.service_manager, side=Side.sending)]
    assert [b.only_if for b in transfer_by.on_breach if b.notify == service_manager] == [
        ["summary_authorised", "checklist", "iro_informed"]
    ]

    letters = pathway.after_transfer["later_life_letters"]
    assert letters.within == Duration(amount=6, unit=DurationUnit.weeks)
    assert [str(r) for r in letters.by] == ["social_worker@from", "team_manager@from"]
    assert pathway.duty_action("later_life_letters") == "complete-later-life-letters"


def _pathway(data: dict[str, Any]) -> Any:
    return data["pathways"]["sgcp-to-lac"]


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """Set `path` (dotted, list indexes as numbers) in the sgcp-to-lac pathway to `value`."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = _pathway(data)
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value

    return mutate


MALFORMED = {
    "bad duration": (
        _set("deadlines.transfer_by.within", "10 workdays"),
        f"{PW}.deadlines.transfer_by.within: '10 workdays' is not a duration; "
        "write e.g. '10 working days'",
    ),
    "duration without unit": (
        _set("after_transfer.later_life_letters.within", 6),
        f"{PW}.after_transfer.later_life_letters.within: 6 is not a duration",
    ),
    "unknown role": (
        _set("gates.summary_authorised.by", "boss@from"),
        f"{PW}.gates.summary_authorised.by[0].role: Input should be 'social_worker', "
        "'team_manager', 'service_manager', 'head_of_service', 'senior_assistant_director', "
        "'director', 'iro', 'senior_practitioner', 'advanced_practitioner', 'personal_advisor', "
        "'legal_services', 'designated_administrator', 'business_support', 'chair' or "
        "'contact' (got 'boss')",
    ),
    "unknown side": (
        _set("deadlines.transfer_by.on_breach.0.notify", "service_manager@elsewhere"),
        f"{PW}.deadlines.transfer_by.on_breach[0].notify[0]: must name a party of the pathway, "
        "a team of the authority or an external party, not 'elsewhere'",
    ),
    "role without side": (
        _set("gates.summary_authorised.by", "team_manager"),
        f"{PW}.gates.summary_authorised.by[0]: 'team_manager' must be written role@from, "
        "role@to, role@authority or role@<team or party>",
    ),
    "unknown gate required": (
        _set("transfer.requires", ["summary_authorised", "signed_off"]),
        f"{PW}.transfer.requires: unknown gate 'signed_off'",
    ),
    "unknown gate in only_if": (
        _set("deadlines.transfer_by.on_breach.0.only_if", ["signed_off"]),
        f"{PW}.deadlines.transfer_by.on_breach.only_if: unknown gate 'signed_off'",
    ),
    "unknown team": (_set("from", "sgpc"), f"{PW}.from: unknown team 'sgpc'"),
    "checklist without items": (
        lambda data: _pathway(data)["gates"]["checklist"].pop("items"),
        f"{PW}.gates.checklist: a checklist gate needs 'items'",
    ),
    "missing field": (
        lambda data: _pathway(data).pop("allocation"),
        f"{PW}.allocation.by: is required: who allocates a worker once the case arrives",
    ),
    "unknown top-level field": (
        lambda data: data.update(owner="Children's Services"),
        "owner: unknown field",
    ),
    "unknown pathway field": (_set("deadline", {}), f"{PW}.deadline: unknown field"),
    "bad closure day": (
        lambda data: data["calendar"].update(closure_days=["2026-13-01"]),
        "calendar.closure_days[0]: Input should be a valid date",
    ),
}


@pytest.mark.parametrize(("mutate", "expected"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_protocol_names_file_field_and_problem(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = copy.deepcopy(GATESHEAD)
    mutate(data)
    path = tmp_path / "gateshead.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ProtocolFileError) as raised:
        load_protocol(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: {expected}")
    assert "function-" not in message and "Value error" not in message


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "gateshead.yaml",
            "authority: gateshead\n  title: [oops\n",
            "line 2, column 8: not valid YAML",
        ),
        ("gateshead.yaml", "- authority: gateshead\n", "(top level): expected a mapping"),
        ("gateshead.yaml", "", "(top level): expected a mapping"),
        (
            "newcastle.yaml",
            yaml.safe_dump(GATESHEAD),
            "authority: 'gateshead' must match the file name 'newcastle'",
        ),
    ],
)
def test_unusable_file(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolFileError) as raised:
        load_protocol(path)
    assert str(raised.value).startswith(f"{path}: {expected}")
