"""Clinical reasoning: concept recognition and the rule engine over the knowledge base."""

from ectocalc.reasoning.engine import ReasoningResult, reason

__all__ = ["ReasoningResult", "reason"]
