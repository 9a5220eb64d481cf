"""DICOMweb with a PACS (contract §9): ``pacs scan`` scores a study's CT and stores the SEG and
SR back into it; ``pacs watch`` does so for each new study, once.

The DICOMweb client is dicomweb-client (QIDO-RS, WADO-RS, STOW-RS); scoring goes through
:func:`ectocalc.service.quantify_scan` on the retrieved series, so the loader's refusals
(localizer, contrast, not axial, …) are those of ``ectocalc scan``.
"""

from ectocalc.pacs._client import connect, session
from ectocalc.pacs._scan import SeriesOutcome, scan_study
from ectocalc.pacs._watch import StudyState, WatchState, watch_pass

__all__ = ["SeriesOutcome", "StudyState", "WatchState", "connect", "scan_study", "session",
           "watch_pass"]
