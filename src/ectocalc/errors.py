"""The one error type for bad input.

Every loader raises :class:`InputError` naming the file and the field (or DICOM tag) at fault;
the command line turns it into one line on stderr and exit status 2. The line is made safe
here, once for every loader: control characters (a newline inside a value) are escaped so a
value cannot start a second line, and long quoted values are shortened so a 1 MB value is
never echoed whole.
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_QUOTED = 80
"""Longest quoted value (or file name, or field) kept whole in a message, in characters."""
MAX_LINE = 1000
"""Longest error line, in characters."""

_QUOTED = re.compile("|".join(f"{q}[^{q}\\n]{{{MAX_QUOTED},}}{q}" for q in "'\""))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}")


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = limit // 2 - 2
    return f"{text[:keep]} … {text[-keep:]}"


def one_line(text: str, *, limit: int = MAX_LINE) -> str:
    """``text`` made safe for a one-line message: escaped, long quoted values shortened.

    Examples
    --------
    >>> one_line("unit 'mg\\nerror: forged' is not convertible")
    "unit 'mg\\\\nerror: forged' is not convertible"
    >>> len(one_line("value " + repr("x" * 10**6))) < 200
    True
    """
    text = _CONTROL.sub(_escape, text)
    text = _QUOTED.sub(lambda m: m.group()[0] + _shorten(m.group()[1:-1], MAX_QUOTED)
                       + m.group()[0], text)
    return _shorten(text, limit)


class InputError(ValueError):
    """Invalid user input, located by file and field.

    Parameters
    ----------
    source : str or Path
        The file (or other input) the bad value came from.
    field : str
        Dotted path of the field, e.g. ``labs[2].value``, or a DICOM keyword.
    message : str
        What is wrong, in words a user can act on.

    Examples
    --------
    >>> str(InputError("case.yaml", "labs[0].unit", "unit 'mg' is not convertible"))
    "case.yaml: labs[0].unit: unit 'mg' is not convertible"
    >>> str(InputError("case.yaml", "id", "bad\\nerror: forged line"))
    'case.yaml: id: bad\\\\nerror: forged line'
    """

    def __init__(self, source: str | Path, field: str, message: str) -> None:
        self.source = one_line(str(source), limit=4 * MAX_QUOTED)
        self.field = one_line(field, limit=2 * MAX_QUOTED)
        self.message = one_line(message)
        located = f"{self.source}: {self.field}: " if self.field else f"{self.source}: "
        super().__init__(located + self.message)
