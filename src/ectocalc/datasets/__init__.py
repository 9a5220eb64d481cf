"""Synthetic data sets with known truth: the CT calcium phantom.

:func:`write_phantom` writes a real DICOM CT series (QRM-like calcium inserts, calibration
rods, skin nodules, aortic plaques, spine and ribs on a patient table) with ``truth.json``
and an anatomy label map; :func:`make_phantom` computes the same phantom in memory. It is the
demo input of ``ectocalc scan`` and the ground truth of the imaging tests.

Examples
--------
>>> from ectocalc.datasets import make_phantom
>>> make_phantom(rows=64, columns=64, slices=4, pixel_spacing_mm=3.0).hu.shape
(4, 64, 64)
"""

from ectocalc.datasets._phantom import (
    C_HA_MG_PER_CM3_PER_HU,
    CT_IMAGE_STORAGE,
    PATIENT_NAME,
    RESIN_HU,
    TISSUE_HU,
    Phantom,
    PhantomObject,
    ha_hu,
    make_phantom,
    write_phantom,
)

__all__ = [
    "CT_IMAGE_STORAGE",
    "C_HA_MG_PER_CM3_PER_HU",
    "PATIENT_NAME",
    "RESIN_HU",
    "TISSUE_HU",
    "Phantom",
    "PhantomObject",
    "ha_hu",
    "make_phantom",
    "write_phantom",
]
