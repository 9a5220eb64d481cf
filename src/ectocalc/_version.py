"""The version of ectocalc: the one place it is written (``pyproject.toml`` reads it here)."""

VERSION = "0.1.0"
