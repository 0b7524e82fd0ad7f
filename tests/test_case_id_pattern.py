"""A protocol's case-id format: a bad regex is named by file and field; the start uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config import ROOT
from models.protocol_files import ProtocolFileError, load_protocol


def written(tmp_path: Path, pattern: str) -> Path:
    raw = yaml.safe_load((ROOT / "protocols" / "gateshead.yaml").read_text())
    raw["case_id_pattern"] = pattern
    path = tmp_path / "gateshead.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(("pattern", "problem"), [
    ("^C[0-9+$", "not a valid regular expression"),
    (r"^[A-Za-z ]+$", "must not accept an empty id or words with a space"),
    (".*", "must not accept an empty id"),
])
def test_a_bad_case_id_pattern_names_file_and_field(tmp_path: Path, pattern: str,
                                                    problem: str) -> None:
    path = written(tmp_path, pattern)
    with pytest.raises(ProtocolFileError) as refused:
        load_protocol(path)
    assert str(refused.value).startswith(f"{path}: case_id_pattern: ")
    assert problem in str(refused.value)


def test_the_default_takes_ids_and_refuses_names(tmp_path: Path) -> None:
    protocol = load_protocol(ROOT / "protocols" / "gateshead.yaml")
    for case_id in ("C100234", "C7", "LCS1234-2", "MOS123456"):
        assert protocol.is_case_id(case_id), case_id
    for name in ("Jessamy Quillfeather", "JessamyQuillfeather", "JessamyQuillfeather01",
                 "Quillfeather", ""):
        assert not protocol.is_case_id(name), name


def test_an_authority_may_narrow_it(tmp_path: Path) -> None:
    protocol = load_protocol(written(tmp_path, r"C[0-9]{6}"))
    assert protocol.is_case_id("C100234")
    assert not protocol.is_case_id("C7") and not protocol.is_case_id("C1002345")
