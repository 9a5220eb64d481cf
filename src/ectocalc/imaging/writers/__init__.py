"""Output files of ``ectocalc scan``: DICOM SEG (:mod:`.seg`), TID 1500 SR (:mod:`.sr`), the
lesion CSV (:mod:`.csv`) and PNG overlays (:mod:`.overlay`).

Each writer writes a temporary file next to its target and renames it into place; the scan
pipeline writes the whole output folder as one unit (:func:`ectocalc.imaging.scan.quantify`).
"""
