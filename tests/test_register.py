"""The registers of the seeds' rules: every key resolves, every quote is the seed's own words,
a wrong register is refused naming file, rule and field, and the coverage adds up."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import ROOT
from models.protocol import Protocol
from models.protocol_files import load_protocols
from models.register import (
    Register,
    RegisterFileError,
    RuleStatus,
    check_register,
    load_register,
    normalise,
    resolve,
)
from ops.check_protocols import main
from ops.coverage import (
    check_registers,
    coverage,
    coverage_lines,
    coverage_markdown,
    local_choices,
    total,
)
from ops.write_docs import pathway_rows

PROTOCOLS = ROOT / "protocols"
GATESHEAD = yaml.safe_load((PROTOCOLS / "gateshead.yaml").read_text(encoding="utf-8"))


def rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "lac-transfer-10-working-days",
                            "section": "Protocol for the transfer of cases to the LAC Team",
                            "quote": "A transfer must occur within 10 working days following "
                                     "the TM's discussion.",
                            "status": "encoded",
                            "keys": ["pathways.sgcp-to-lac.deadlines.transfer_by"]}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def register(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"seed": "000", "authority": "gateshead", "source": "000_7359d951385917e8.txt",
            "rules": list(rules) or [rule()]}


def write(directory: Path, data: dict[str, Any], name: str = "gateshead.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def protocols_dir(tmp_path: Path) -> Path:
    """The Gateshead protocol and the seeds, with an empty register directory."""
    shutil.copy(PROTOCOLS / "gateshead.yaml", tmp_path / "gateshead.yaml")
    shutil.copytree(PROTOCOLS / "seeds", tmp_path / "seeds")
    (tmp_path / "register").mkdir()
    return tmp_path


# ----- the real registers -----------------------------------------------------------------------


def test_every_protocol_has_a_register_whose_keys_resolve_and_quotes_are_verbatim() -> None:
    registers, problems = check_registers(PROTOCOLS)
    assert problems == []
    assert {r.authority for r in registers} == set(load_protocols(PROTOCOLS))
    assert sorted(r.seed for r in registers) == ["000", "001", "002", "003", "004"]
    for reg in registers:
        assert (PROTOCOLS / "seeds" / reg.source).name.startswith(reg.seed)
        assert reg.count(RuleStatus.encoded)
        assert reg.count(RuleStatus.guidance)


def test_the_checker_prints_the_coverage_and_the_local_choices(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PROTOCOLS)]) == 0
    out = capsys.readouterr().out
    registers, _ = check_registers(PROTOCOLS)
    assert "Register of the seeds' rules" in out
    for reg in registers:
        row = coverage(reg)
        line = next(x for x in out.splitlines() if x.startswith(f"  {reg.seed}  "))
        assert line.split()[1:] == [reg.authority, str(row.operational), str(row.encoded),
                                    str(row.not_yet), str(row.guidance), f"{row.percent}%"]
    assert "Local choices the council must confirm" in out


def test_markdown_prints_the_coverage_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PROTOCOLS), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert ("| seed | authority | operational rules | encoded | not yet | guidance | % encoded |"
            in out)
    registers, _ = check_registers(PROTOCOLS)
    for reg in registers:
        row = coverage(reg)
        assert (f"| {reg.seed} | {reg.authority} | {row.operational} | {row.encoded} | "
                f"{row.not_yet} | {row.guidance} | {row.percent}% |") in out


# ----- a wrong register fails ------------------------------------------------------------------


def test_an_encoded_rule_naming_a_key_that_does_not_exist_fails_the_check(
        protocols_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(protocols_dir / "register", register(
        rule(keys=["pathways.sgcp-to-lac.deadlines.transfer_by",
                   "pathways.sgcp-to-lac.gates.transfer_meeting.deadline"])))

    assert main([str(protocols_dir)]) == 1
    err = capsys.readouterr().err
    assert (f"REGISTER {bad}: rules[0] (lac-transfer-10-working-days).keys[1]: "
            "'pathways.sgcp-to-lac.gates.transfer_meeting.deadline' is not in gateshead.yaml "
            "(no 'deadline' under 'pathways.sgcp-to-lac.gates.transfer_meeting'); a rule "
            "marked encoded must name keys that exist") in err


def test_a_quote_the_seed_does_not_have_fails_the_check(
        protocols_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(protocols_dir / "register", register(
        rule(quote="A transfer must occur within 15 working days following the TM's discussion.")))
    assert main([str(protocols_dir)]) == 1
    assert (f"{bad}: rules[0] (lac-transfer-10-working-days).quote: not found verbatim in the "
            "seed 000_7359d951385917e8.txt") in capsys.readouterr().err


def test_a_register_for_an_authority_without_a_protocol_fails(
        protocols_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = register()
    data["authority"] = "elsewhere"
    bad = write(protocols_dir / "register", data, "elsewhere.yaml")
    assert main([str(protocols_dir)]) == 1
    assert f"{bad}: authority: 'elsewhere' has no protocol file" in capsys.readouterr().err


@pytest.mark.parametrize(("changed", "expected"), [
    (rule(status="guidance", keys=None),
     "rules[0] (lac-transfer-10-working-days).why: is required for a guidance rule"),
    (rule(status="not_yet"),
     "rules[0] (lac-transfer-10-working-days).missing: is required for a not_yet rule"),
    (rule(keys=[]),
     "rules[0] (lac-transfer-10-working-days).keys: is required for an encoded rule"),
    (rule(why="because"),
     "rules[0] (lac-transfer-10-working-days).status: encoded takes no 'why' or 'missing'"),
    (rule(status="guidance", keys=None, why="a principle", missing="nothing"),
     "rules[0] (lac-transfer-10-working-days).status: guidance takes no 'keys' or 'missing'"),
    (rule(status="done"), "rules[0] (lac-transfer-10-working-days).status: Input should be "
                          "'encoded', 'guidance' or 'not_yet' (got 'done')"),
    (rule(id="Lac Transfer"), "rules[0] (Lac Transfer).id: String should match pattern"),
    (rule(keys=["pathways..sgcp"]), "rules[0] (lac-transfer-10-working-days).keys: "
                                    "'pathways..sgcp' is not a dotted path"),
    (rule(owner="lead"), "rules[0] (lac-transfer-10-working-days).owner: unknown field"),
    (rule(quote=None), "rules[0] (lac-transfer-10-working-days).quote: required field is "
                       "missing"),
])
def test_a_malformed_rule_is_refused_naming_file_rule_and_field(
        tmp_path: Path, changed: dict[str, Any], expected: str) -> None:
    path = write(tmp_path, register(changed))
    with pytest.raises(RegisterFileError) as raised:
        load_register(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert expected in str(raised.value)


def test_ids_are_unique_and_the_authority_matches_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, register(rule(), rule(status="not_yet", missing="no meeting clock")))
    with pytest.raises(RegisterFileError, match="rules: the id 'lac-transfer-10-working-days' "
                                                "is used twice"):
        load_register(path)
    other = write(tmp_path, register(), "st_helens.yaml")
    with pytest.raises(RegisterFileError, match="authority: 'gateshead' must match the file"):
        load_register(other)
    (tmp_path / "broken.yaml").write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(RegisterFileError, match="not valid YAML"):
        load_register(tmp_path / "broken.yaml")


# ----- the pieces -----------------------------------------------------------------------------


def test_keys_resolve_through_merge_keys_and_list_items() -> None:
    # cwd-to-early-help is `<<: *sgcp_cwd_step_down`: its gates come from the merge.
    assert resolve(GATESHEAD, "pathways.cwd-to-early-help.gates.meeting.outcomes.arranged") \
        is None
    assert resolve(GATESHEAD, "ladders.dispute.levels[1]") is None
    assert resolve(GATESHEAD, "ladders.dispute.levels[2]") == "no item [2] in 'ladders.dispute." \
                                                              "levels'"
    assert resolve(GATESHEAD, "weekly_meeting") == "no 'weekly_meeting' under '(top level)'"
    assert resolve(GATESHEAD, "pathways.sgcp-to-lac.title.x") \
        == "no 'x' under 'pathways.sgcp-to-lac.title'"


def test_quotes_are_compared_without_markup_or_typography() -> None:
    assert normalise("<p>The <b>transferring manager</b></p>\n  is  **responsible**") \
        == "The transferring manager is responsible"
    assert normalise("the \u2018front door\u2019 \u201cRequest\u201d 1 \u2013 2 \u2014 3") \
        == "the 'front door' \"Request\" 1 - 2 - 3"
    assert normalise("p\\_uasc &amp; clear*  transition") == "p_uasc & clear transition"
    assert normalise("the 18<sup>th</sup> birthday</p>\t<p>Duty") == "the 18th birthday Duty"
    seed = "Heads of Service by 10.00am every <p>Monday</p>\n\nmorning."
    reg = Register.model_validate(register(rule(
        quote="Heads of Service by 10.00am every Monday morning.")))
    assert check_register(reg, "r.yaml", GATESHEAD, "gateshead.yaml", seed) == []


def test_coverage_counts_on_a_tiny_register() -> None:
    reg = Register.model_validate(register(
        rule(id="a"), rule(id="b"),
        rule(id="c", status="not_yet", keys=None, missing="no clock"),
        rule(id="d", status="guidance", keys=None, why="a principle"),
        rule(id="e", status="guidance", keys=None, why="filing on Liquid Logic")))
    row = coverage(reg)
    assert (row.operational, row.encoded, row.not_yet, row.guidance, row.percent) \
        == (3, 2, 1, 2, 67)
    both = total([row, coverage(Register.model_validate(register()))])
    assert (both.operational, both.encoded, both.percent) == (4, 3, 75)
    lines = coverage_lines([reg], [])
    assert lines[1].split() == ["seed", "authority", "operational", "rules", "encoded", "not",
                                "yet", "guidance", "%", "encoded"]
    assert lines[2].split() == ["000", "gateshead", "3", "2", "1", "2", "67%"]


def without_local_choices(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_local_choices(v) for k, v in node.items() if k != "local_choice"}
    if isinstance(node, list):
        return [without_local_choices(v) for v in node]
    return node


def test_local_choices_are_collected_from_any_element() -> None:
    data = without_local_choices(copy.deepcopy(GATESHEAD))  # the real ones: only ours below
    data["ladders"]["dispute"]["levels"][0]["local_choice"] = "The seed sets no time: 5 days."
    pathway = data["pathways"]["sgcp-to-lac"]
    pathway["deadlines"]["transfer_by"]["on_breach"][0]["local_choice"] = \
        "Both Team Managers always hear."
    pathway["gates"]["iro_informed"]["local_choice"] = "  "  # blank: not a choice
    protocol = Protocol.model_validate(data)

    assert list(local_choices(protocol)) == [
        ("ladders.dispute.levels[0]", "The seed sets no time: 5 days."),
        ("pathways.sgcp-to-lac.deadlines.transfer_by.on_breach[0]",
         "Both Team Managers always hear."),
    ]  # once each: a pathway's copy of the protocol's ladders is not walked
    lines = coverage_lines([], [protocol])
    assert "  gateshead: ladders.dispute.levels[0]: The seed sets no time: 5 days." in lines


def test_the_readme_shows_the_current_coverage_table() -> None:
    registers, _ = check_registers(PROTOCOLS)
    table = [line for line in coverage_markdown(registers, []).splitlines()
             if line.startswith("|")]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n".join(table) in readme, "README's coverage table is stale: run `make docs`"


def test_the_readme_names_every_pathway() -> None:
    table = pathway_rows(load_protocols(PROTOCOLS))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n".join(table) in readme, "README's list of pathways is stale: run `make docs`"
    assert sum(row.count("`, `") + 1 for row in table[2:]) == sum(
        len(p.pathways) for p in load_protocols(PROTOCOLS).values())
