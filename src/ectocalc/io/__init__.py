"""Readers that turn user files into the typed model (case files, FHIR R4 bundles)."""
