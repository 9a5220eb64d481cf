"""CT calcification quantification: reading CT series, masks, lesions, scores and types.

Entry points: :func:`ectocalc.imaging.scan.quantify` (files in, result out) and
:func:`ectocalc.imaging.scan.analyse` (a :class:`~ectocalc.imaging.volume.CTVolume` in).
Method notes: ``docs/imaging.md``.
"""
