"""Case ids as people read them out over the phone: `MVP-` and ten Crockford base32 characters in two groups.

Typing is forgiving (Crockford's rules): case is ignored, I and L are 1, O is 0, dashes, spaces and the
`MVP-` prefix are optional. Anything else is not a case id, and is said so without echoing it.
"""

from __future__ import annotations

import re

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_BODY = re.compile(f"[{CROCKFORD}]{{10}}")


def canonical(value: str) -> str:
    """`mvp-abcde-fghjk`, `ABCDEFGHJK`, `MVP ABCDE FGHJK` → `MVP-ABCDE-FGHJK`; raises ValueError otherwise."""
    text = re.sub(r"[\s-]", "", value.strip().upper())
    if text.startswith("MVP"):
        text = text[3:]
    text = text.translate(_READ_AS)
    if not _BODY.fullmatch(text):
        raise ValueError(
            "is not a case id: a case id is MVP- and ten letters and digits, e.g. MVP-7K3QX-2M9RB"
        )
    return f"MVP-{text[:5]}-{text[5:]}"


def encode(number: int) -> str:
    """Fifty bits as a case id."""
    chars = []
    for _ in range(10):
        number, index = divmod(number, 32)
        chars.append(CROCKFORD[index])
    body = "".join(chars)
    return f"MVP-{body[:5]}-{body[5:]}"
