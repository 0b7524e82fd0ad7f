"""`python -m ops.check_protocols`: every file checked, problems named, pathways described."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config import ROOT
from models.protocol_files import load_protocols
from ops.check_protocols import main

PROTOCOLS = ROOT / "protocols"


def test_the_real_protocols_pass_and_every_pathway_is_described(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PROTOCOLS)]) == 0
    out = capsys.readouterr().out
    protocols = load_protocols(PROTOCOLS)
    for authority, protocol in protocols.items():
        assert f"{authority}: {protocol.title}" in out
        for pathway_id, pathway in protocol.pathways.items():
            assert f"Pathway {pathway_id}: {pathway.title}" in out
            assert pathway.anchor.title in out
            for deadline in pathway.deadlines.values():
                assert deadline.title in out
    assert f"{len(protocols)} valid, 0 malformed" in out


def test_gateshead_is_described_in_plain_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PROTOCOLS)]) == 0
    out = capsys.readouterr().out
    assert "sgcp (Safeguarding and Care Planning) → lac (Looked After Children Service)" in out
    assert "the clock starts at: Team Managers' discussion of the transfer" in out
    assert ("- File audit complete [checklist]: checklist recorded by the Team Manager of sgcp"
            in out)
    assert ("the case must transfer within 10 working days of the Team Managers' discussion "
            "of the transfer") in out
    assert ("if missed: email the Team Manager of sgcp and the Team Manager of lac; email the "
            "Service Manager of sgcp (once these are recorded, at the breach or later: "
            "'Transfer summary authorised by the SGCP Team Manager', 'File audit complete' and "
            "'IRO informed of the transfer')") in out
    assert ("it transfers even if these are not: 'Request Transfer to LAC and Young People's "
            "Service completed by the SGCP social worker' and 'Transfer meeting with the child"
            in out)
    assert "due 6 weeks after the transfer (action complete-later-life-letters)" in out


def test_warnings_ladders_and_the_weekly_meeting_are_described(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PROTOCOLS)]) == 0
    out = capsys.readouterr().out
    protocols = load_protocols(PROTOCOLS)
    warned = [d for p in protocols.values() for pw in p.pathways.values()
              for d in pw.deadlines.values() if d.warn is not None]
    assert warned, "no protocol has a warning to describe"
    for d in warned:
        assert d.warn is not None
        shares = [f"{round(f * 100)}%" for f in sorted(d.warn.at)]
        assert f"warnings at {' and '.join(shares[-2:])}" in out
    ladders = [ladder for p in protocols.values() for ladder in p.ladders.values()]
    assert ladders, "no protocol has a dispute ladder to describe"
    for ladder in ladders:
        assert f"- {ladder.title} [" in out
        # Started by a gate's outcome, or by either side at any stage (raise-dispute).
        assert (f"starts the dispute ladder '{ladder.title}'" in out
                or f"the ladder '{ladder.title}' starts" in out)
    assert "told if it is not resolved within" in out
    meetings = [p.weekly_meeting for p in protocols.values() if p.weekly_meeting]
    assert meetings, "no protocol has a weekly meeting to describe"
    for meeting in meetings:
        assert (f"weekly meeting: {meeting.title}, every {meeting.weekday.capitalize()}; "
                f"papers due by {meeting.papers_due:%H:%M}") in out
    # St Helens' meeting is chaired in turn by its Heads of Service.
    assert "chaired in turn by the authority's Heads of Service" in out


def test_markdown_prints_one_table_per_authority(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PROTOCOLS), "--markdown"]) == 0
    out = capsys.readouterr().out
    protocols = load_protocols(PROTOCOLS)
    assert out.count("| pathway | from → to | transfer trigger | key timescales |") \
        == len(protocols)
    for protocol in protocols.values():
        for pathway_id, pathway in protocol.pathways.items():
            row = next(line for line in out.splitlines() if line.startswith(f"| `{pathway_id}`"))
            sides = (f"{pathway.sending} (closes)" if pathway.closes else
                     f"{pathway.sending} → {pathway.receiving}"
                     + (" (notified; the case stays)" if pathway.stays else ""))
            assert f"| {sides} |" in row
            assert row.count(" | ") == 3  # four cells, no stray pipe
    gateshead = next(line for line in out.splitlines() if line.startswith("| `sgcp-to-lac`"))
    assert "on the agreed date" in gateshead
    assert "Transfer within 10 working days of the TM discussion" in gateshead
    assert "Later Life Letters completed by the SGCP social worker (6 weeks after the transfer)" \
        in gateshead


def test_a_malformed_file_is_named_and_the_others_still_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(PROTOCOLS / "gateshead.yaml", tmp_path / "gateshead.yaml")
    text = (PROTOCOLS / "gateshead.yaml").read_text(encoding="utf-8")
    assert "within: 10 working days" in text and "authority: gateshead" in text
    bad = tmp_path / "elsewhere.yaml"
    bad.write_text(text.replace("authority: gateshead", "authority: elsewhere")
                   .replace("within: 10 working days", "within: 3 sleeps"), encoding="utf-8")

    assert main([str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert (f"{bad}: pathways.sgcp-to-lac.deadlines.transfer_by.within: '3 sleeps' is not "
            "a duration") in captured.err
    assert "gateshead: Transfer and Closure of Cases" in captured.out
    assert "Pathway sgcp-to-lac: SGCP to Looked After Children Service" in captured.out
    assert "elsewhere:" not in captured.out
    assert "2 protocol file(s)" in captured.out and "1 valid, 1 malformed" in captured.out


def test_broken_yaml_and_an_empty_directory_fail(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 1
    assert "no protocol files" in capsys.readouterr().err

    (tmp_path / "broken.yaml").write_text("authority: [broken\n", encoding="utf-8")
    assert main([str(tmp_path), "--markdown"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'broken.yaml'}: line 2, column 1: not valid YAML" in err


def test_runs_as_a_module() -> None:
    done = subprocess.run([sys.executable, "-m", "ops.check_protocols", str(PROTOCOLS)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Pathway sgcp-to-lac" in done.stdout


def test_every_capability_is_described_in_plain_words(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ROOT / "tests" / "protocols")]) == 0
    out = capsys.readouterr().out
    for words in [
        "a joint decision: the Team Manager of alpha and the Team Manager of beta each record "
        "their agreement; done when all have",
        "also involved: the team that made the original decision [original_team], named when "
        "the transfer starts",
        "approval recorded by the Team Manager of the team that made the original decision",
        "names the team that will hold the case next",
        "only if 'Discussion of the case' was answered 'concerns' (otherwise not needed)",
        "runs only if 'Discussion of the case' was answered 'concerns'",
        "may be marked not applicable, with the reason: risk_assessment, legal_paperwork",
        "the Team Manager of alpha or the Team Manager of beta may dispute it (action "
        "raise-dispute, with the reason)",
        "gives the date it happened (clocks from this step count from that day)",
        "within 10 days of the date 'Order granted' happened",
        "a task for the social worker of alpha, with no timescale: outstanding, and holding the "
        "transfer open, until done",
        "if still outstanding 2 weeks after the transfer: remind the Team Manager of alpha",
        "key date: The young person turns 15½ [turns_15_and_half], a plain date given by the "
        "Team Manager of alpha or the Team Manager of beta (never a date of birth)",
        "within 1 working day of the key date 'The young person turns 15½'",
        "2. the Head of Service of the sending team and the receiving team: 24 hours to "
        "resolve it; then told that it was not resolved within 48 hours",
        "alpha (Alpha Team) → other_authority (outside the council: The other local authority)",
        "the case leaves the council for The other local authority: nobody here allocates it",
        "when the case transfers, the Team Manager of alpha, the Team Manager of the other local "
        "authority (emailed at its address) and the CAFCASS (emailed at its address)",
        "the case closes: as soon as these are recorded: 'Closure summary completed' and "
        "'Closure authorised by the Team Manager'",
        "papers filed after that time are held over to the next week's meeting",
    ]:
        assert words in out, words
