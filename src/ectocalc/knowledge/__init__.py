"""The knowledge base: mechanisms, causes, types, syndromes, work-up, management, alerts, sources.

All clinical knowledge lives as YAML in ``knowledge/data/`` and is validated when first used (see
:mod:`ectocalc.knowledge.load`; docs/knowledge.md explains the files and how to add a rule).

Examples
--------
>>> knowledge_version().startswith("1+")
True
>>> bibliography()["plomp_2010"].startswith("Plomp AS")
True
"""

from __future__ import annotations

from ectocalc.knowledge.load import Knowledge, load_knowledge, register_file
from ectocalc.knowledge.schema import KnowledgeError


def knowledge_version() -> str:
    """Version of the packaged knowledge base: schema version + hash of its files."""
    return load_knowledge().version


def bibliography() -> dict[str, str]:
    """Bibliography id -> full citation (``[check]`` appended where unconfirmed)."""
    return {key: f"{entry.citation} [check]" if entry.check else entry.citation
            for key, entry in load_knowledge().bibliography.sources.items()}


__all__ = ["Knowledge", "KnowledgeError", "bibliography", "knowledge_version", "load_knowledge",
           "register_file"]
