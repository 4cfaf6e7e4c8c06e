"""The case table as data: tests/parser_cases.json holds every row, exactly, and nothing stale.

Strategy: this module owns the checks that keep the one case table one table. The rows are
written in tests/parser_cases.py and tests/attack_cases.py; tests/case_table.py writes them to
tests/parser_cases.json, which `cargo test` (rust/tests.rs) reads. Here: the committed file is
what the script writes now (edit a row, forget to run it, and this fails), reading the file
back gives every row's bytes, limits and events, every row cites a section of tests/RULES.md,
and the table's fault constants are the faults of `wirespeed.errors.ParseFault`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import parser_cases
from attack_cases import ATTACKS
from case_table import LIMITS, TABLE_FILE, decode_bytes, render
from parser_cases import CASES, Err

from wirespeed.errors import ParseFault

RULES = TABLE_FILE.parent / "RULES.md"


def test_committed_table_is_current() -> None:
    committed = TABLE_FILE.read_text(encoding="ascii")
    assert committed == render(), "tests/parser_cases.json is stale: run .venv/bin/python tests/case_table.py"


def _decode_event(value: Any) -> Any:
    if value == "end":
        return None
    if "body" in value:
        return decode_bytes(value["body"])
    if "error" in value:
        return tuple(value["error"])
    method, target, version, fields, keep_alive, body = value["request"]
    headers = [(decode_bytes(name), decode_bytes(field)) for name, field in fields]
    return (method, decode_bytes(target).decode("ascii"), version, headers, keep_alive, None if body is None else decode_bytes(body))


def _comparable(event: Any) -> Any:
    """An expected event of the Python table, with an error as (status, detail or None)."""
    return (event.status, event.detail) if isinstance(event, Err) else event


def test_the_data_is_every_row_exactly() -> None:
    document = json.loads(TABLE_FILE.read_text(encoding="ascii"))
    rows = document["rows"]
    params = CASES + ATTACKS
    assert [row["id"] for row in rows] == [param.id for param in params]
    assert len({row["id"] for row in rows}) == len(rows), "row ids are unique"
    for row, param in zip(rows, params, strict=True):
        case = param.values[0]
        assert decode_bytes(row["raw"]) == case.raw, row["id"]
        assert row["limits"] == case.config and set(row["limits"]) <= set(LIMITS), row["id"]
        assert (row["rfc"], row["open_end"]) == (case.rfc, case.open_end), row["id"]
        assert [_decode_event(event) for event in row["events"]] == [_comparable(e) for e in case.expected], row["id"]


def test_long_runs_are_written_short() -> None:
    """A row of 64 KiB takes a few dozen bytes of the file."""
    line = next(line for line in TABLE_FILE.read_text(encoding="ascii").splitlines() if '"ok-64-kib-body-inline-rfc' in line)
    assert len(line) < 1000 and '["z", 65536]' in line


def _sections_of_the_rules() -> set[str]:
    """The sections of tests/RULES.md, as rows cite them: "RFC 9112 §3.2 ..." is "9112§3.2"."""
    headings = [line for line in RULES.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    return {f"{rfc}§{section}" for line in headings for rfc, section in re.findall(r"RFC (\d+) §(\d+(?:\.\d+)*)", line)}


def test_every_row_cites_a_section_of_the_rules() -> None:
    sections = _sections_of_the_rules()
    assert "9112§3.2" in sections and "9112§3" in sections
    missing = sorted({f"{param.id}: {param.values[0].rfc}" for param in CASES + ATTACKS if param.values[0].rfc not in sections})
    assert not missing, "rows citing no section of tests/RULES.md:\n" + "\n".join(missing)


def test_fault_constants_are_the_faults() -> None:
    """BARE_LF and the rest of tests/parser_cases.py are the faults, status and phrase."""
    constants = {name: (value.status, value.detail) for name, value in vars(parser_cases).items() if isinstance(value, Err)}
    assert constants == {fault.name: fault.value for fault in ParseFault}
