"""Case text made safe to print on the operator's terminal.

Text in a case or a dialogue came from a worker (or through a server the operator
does not fully trust). Printed raw, an ESC sequence can retitle the terminal, write
to the clipboard (OSC 52) or hide lines, and bidi controls can make text read
differently from what it is. `terminal_safe` shows every such character as a visible
`\\uXXXX` escape instead; the JSON-compatible form keeps `cases show` valid JSON.
"""

from __future__ import annotations

import re

# C0 controls except newline and tab, DEL, C1 controls, and the Unicode bidi controls
# (Arabic letter mark, LRM/RLM, embeddings and overrides, isolates), plus the line and
# paragraph separators that some terminals treat as line breaks.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def terminal_safe(text: str) -> str:
    """TEXT with control and bidi characters shown as `\\uXXXX`; newlines and tabs kept."""
    return _UNSAFE.sub(_escape, text)
