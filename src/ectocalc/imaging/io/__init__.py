"""Reading CT inputs: DICOM series (folder, ``.zip``, single file) and NIfTI volumes.

:func:`~ectocalc.imaging.io.load.load_ct` picks the reader; every refusal is an
:class:`~ectocalc.errors.InputError` naming the file and the tag.
"""
