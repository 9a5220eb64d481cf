"""Server logging without patient data: access lines by route template, errors without text.

Exception messages can quote input (a patient id, a lab value); the server logs keep an
exception's type and where it was raised, never its message.
"""

from __future__ import annotations

import logging
import traceback

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ExceptionTextFilter(logging.Filter):
    """Replace a record's exception by its type and stack frames (the message is dropped).

    Examples
    --------
    >>> patient = "MRN-1"
    >>> try:
    ...     raise ValueError(f"no such patient {patient}")
    ... except ValueError:
    ...     import sys
    ...     record = logging.LogRecord("x", logging.ERROR, "f", 1, "failed", None, sys.exc_info())
    >>> _ = ExceptionTextFilter().filter(record)
    >>> "MRN-1" in record.getMessage(), record.exc_info is None, "ValueError" in record.msg
    (False, True, True)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            frames = "".join(traceback.format_tb(error.__traceback__))
            record.msg = (f"{record.getMessage()}\n{type(error).__name__} (message withheld)\n"
                          f"{frames}")
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_server_logging(level: int = logging.INFO) -> None:
    """Log the web application and uvicorn's server messages to stderr, PHI-safe."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(ExceptionTextFilter())
    for name in ("ectocalc.web", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
