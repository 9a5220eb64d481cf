"""The one error type for bad input.

Every loader raises :class:`InputError` naming the file and the field (or DICOM tag) at fault;
the command line turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path


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
    """

    def __init__(self, source: str | Path, field: str, message: str) -> None:
        self.source = str(source)
        self.field = field
        self.message = message
        located = f"{self.source}: {field}: " if field else f"{self.source}: "
        super().__init__(located + message)
