"""Cohorts: assess and quantify many cases and CT scans on Dask (contract §7).

One Dask task per item (a case file, a CT series, or a manifest row joining a case and its
scan) calls the service layer on a worker with paths, writes the item's outputs atomically
under ``DIR/items/<id>/`` and returns the item's table row. A failed item is recorded with its
one-line reason and never stops the others; the manifest (``DIR/manifest.sqlite``) and each
item's ``DONE`` marker make a rerun redo only what is not done, or whose inputs (content
digest) or settings (knowledge version, ectocalc version, convention) changed. The run ends
with ``cohort.csv``, ``cohort.parquet``, ``failures.csv`` and ``summary.html``.
See ``docs/cohort.md``.
"""

from ectocalc.cohort._items import Item, content_digest, discover_items
from ectocalc.cohort._run import ClusterOptions, CohortResult, run_cohort
from ectocalc.cohort._table import age_band, item_row

__all__ = ["ClusterOptions", "CohortResult", "Item", "age_band", "content_digest",
           "discover_items", "item_row", "run_cohort"]
