"""Text from outside, made safe to print in a Rich console.

Names, notes, reasons, actor ids and force codes come from people and other systems. Printed as they are,
`[red]` would style the screen, `[/]` would crash the renderer (a closing tag with nothing open), a link tag
would make a clickable link, an ANSI escape would drive the terminal, and a bidi override would make text
read differently from what it is. `printable` makes any such text show literally.
"""

from __future__ import annotations

import re

from rich.markup import escape

# ANSI escape sequences (CSI ... final byte, OSC ... BEL or ST, and two-character escapes), written out here
# because Rich can only interpret them (Text.from_ansi), not drop them; then every other C0/C1 control
# but newline and tab, and the bidirectional controls.
_ANSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c)|\x1b[@-_]", re.S)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: object) -> str:
    """`value` as text with ANSI escapes, control characters (but newline and tab) and bidi controls removed."""
    return _CONTROLS.sub("", _ANSI.sub("", str(value)))


def printable(value: object) -> str:
    """`value` as text that a Rich console prints literally: `plain`, with markup escaped."""
    return escape(plain(value))
