"""Reason phrases for status codes, as RFC 9110 §15 names them.

Strategy: this module owns the words after the status code, for the status line and for the
plain-text error bodies. Python's `http.HTTPStatus` is the base, but its phrases follow the
Python version (3.11 still says "Request Entity Too Large" for 413), so the codes RFC 9110
renamed are fixed here, and every Python version puts the same bytes on the wire.
"""

from __future__ import annotations

from http import HTTPStatus

REASONS: dict[int, str] = {int(status): status.phrase for status in HTTPStatus}
REASONS.update(
    {
        413: "Content Too Large",
        414: "URI Too Long",
        416: "Range Not Satisfiable",
        422: "Unprocessable Content",
    }
)


def reason_phrase(status: int) -> str:
    """The reason phrase of `status`; empty for a code without one (RFC 9112 §4 allows it)."""
    return REASONS.get(status, "")
