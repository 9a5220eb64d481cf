"""What the benchmarks share: the verdict word and a results block of ``bench/README.md``."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).with_name("README.md")


def verdict(ok: bool) -> str:
    """``meets`` or ``misses``: how every benchmark row ends."""
    return "meets" if ok else "misses"


def write_block(text: str, *, start: str, end: str, readme: Path = README) -> None:
    """Replace what lies between the ``start`` and ``end`` markers of ``readme`` with ``text``."""
    body = readme.read_text()
    head, _, rest = body.partition(start)
    _, _, tail = rest.partition(end)
    readme.write_text(f"{head}{start}\n{text}\n{end}{tail}")
