"""Writes tests/parser_cases.json, the parser case table as data, for `cargo test` to read.

Strategy: this module owns the one translation of the case table into data. The table is
written in Python (tests/parser_cases.py, CASES, and tests/attack_cases.py, ATTACKS), where
helpers and computed rows keep it short and pytest runs it on both backends; rust/tests.rs
cannot import Python, so it reads the same rows from tests/parser_cases.json, which this
script generates and which is committed. tests/test_case_table.py fails when the committed
file is not what this script writes, so the two never drift: after editing a row, run

    .venv/bin/python tests/case_table.py

The file is JSON: `defaults` (the five limits of `wirespeed.Config`, which rust/limits.rs
`Limits::default()` must equal) and `rows`, one per line, each with
- `id` (the pytest id), `table` ("parser_cases" or "attack_cases"), `rfc` (e.g. "9112§3.2",
  a section of tests/RULES.md), `limits` (the `Config` fields the row sets, by their names,
  which are those of `Limits`), `open_end` (the input stops inside a request);
- `raw`, the input, in the byte encoding below;
- `events`, what `feed` gives over the whole input, body pieces merged: `{"request": [method,
  target, version, [[name, value], ...], keep_alive, body]}` (body null when it follows as
  pieces), `{"body": bytes}`, `"end"`, `{"error": [status, detail]}` (detail null when the row
  pins the status only).
Bytes (raw, target, field names and values, bodies) are a string of U+0000..U+00FF, one
character per byte, or, where a row has long runs, a list of such strings and `[unit, count]`
pairs: ["GET /", ["a", 8192], " HTTP/1.1\\r\\n"]. JSON escapes keep the file ASCII.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "python")]

from attack_cases import ATTACKS  # noqa: E402
from parser_cases import CASES, Case, Err  # noqa: E402

from wirespeed.config import Config  # noqa: E402

TABLE_FILE = HERE / "parser_cases.json"
LIMITS = ["max_head_size", "max_headers", "max_target_length", "max_body_size", "inline_body_size"]
# A run is written as [unit, count] when a unit of at most MAX_UNIT bytes repeats at least
# MIN_COUNT times over at least MIN_RUN bytes.
MAX_UNIT = 16
MIN_COUNT = 4
MIN_RUN = 24


def encode_bytes(data: bytes) -> Any:
    """`data` as a JSON value: a string of one character per byte, or a list of such strings
    and [unit, count] runs."""
    parts: list[Any] = []
    literal = 0  # start of the bytes not yet written
    i = 0
    while i < len(data):
        best = (0, 0, 0)  # (bytes covered, unit size, count)
        for size in range(1, MAX_UNIT + 1):
            unit = data[i : i + size]
            if len(unit) < size:
                break
            count = 1
            while data[i + count * size : i + (count + 1) * size] == unit:
                count += 1
            if count >= MIN_COUNT and size * count >= MIN_RUN and size * count > best[0]:
                best = (size * count, size, count)
        covered, size, count = best
        if not covered:
            i += 1
            continue
        if literal < i:
            parts.append(data[literal:i].decode("latin-1"))
        parts.append([data[i : i + size].decode("latin-1"), count])
        i += covered
        literal = i
    if literal < len(data) or not parts:
        parts.append(data[literal:].decode("latin-1"))
    return parts[0] if len(parts) == 1 and isinstance(parts[0], str) else parts


def decode_bytes(value: Any) -> bytes:
    """The bytes `encode_bytes` wrote as `value`."""
    if isinstance(value, str):
        return value.encode("latin-1")
    out = bytearray()
    for part in value:
        if isinstance(part, str):
            out += part.encode("latin-1")
        else:
            unit, count = part
            out += unit.encode("latin-1") * count
    return bytes(out)


def encode_event(event: Any) -> Any:
    if isinstance(event, tuple):
        method, target, version, headers, keep_alive, body = event
        fields = [[encode_bytes(name), encode_bytes(value)] for name, value in headers]
        body_value = None if body is None else encode_bytes(body)
        return {"request": [method, encode_bytes(target.encode("ascii")), version, fields, keep_alive, body_value]}
    if isinstance(event, bytes):
        return {"body": encode_bytes(event)}
    if event is None:
        return "end"
    assert isinstance(event, Err), event
    return {"error": [event.status, event.detail]}


def encode_row(table: str, param: Any) -> dict[str, Any]:
    case: Case = param.values[0]
    unknown = set(case.config) - set(LIMITS)
    assert not unknown, f"{param.id}: {unknown} is no limit of rust/limits.rs"
    return {
        "id": param.id,
        "table": table,
        "rfc": case.rfc,
        "limits": {name: case.config[name] for name in LIMITS if name in case.config},
        "open_end": case.open_end,
        "raw": encode_bytes(case.raw),
        "events": [encode_event(event) for event in case.expected],
    }


def rows() -> list[dict[str, Any]]:
    """Every row of the case table, in table order: CASES, then ATTACKS."""
    return [encode_row("parser_cases", param) for param in CASES] + [
        encode_row("attack_cases", param) for param in ATTACKS
    ]


def render() -> str:
    """The text of tests/parser_cases.json."""
    defaults = Config()
    header = {
        "about": "Generated by tests/case_table.py from tests/parser_cases.py and tests/attack_cases.py; do not edit.",
        "defaults": {name: getattr(defaults, name) for name in LIMITS},
    }
    lines = [json.dumps(row, ensure_ascii=True) for row in rows()]
    head = json.dumps(header, ensure_ascii=True)[:-1]  # without its closing brace
    return head + ', "rows": [\n' + ",\n".join(lines) + "\n]}\n"


def main() -> None:
    TABLE_FILE.write_text(render(), encoding="ascii")
    print(f"case_table: {len(CASES) + len(ATTACKS)} rows in {TABLE_FILE.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
