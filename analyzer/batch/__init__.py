"""Batch processing: many inputs into one day-partitioned Parquet dataset, in a local
process pool or on a Dask cluster, resumable (layout and commit protocol: dataset.py).

>>> import analyzer
>>> result = analyzer.open_dataset("cases/2012-01")   # the dataset as one Analysis
"""

from analyzer.batch.dataset import manifest_frame
from analyzer.batch.reader import open_dataset

__all__ = ["manifest_frame", "open_dataset"]
