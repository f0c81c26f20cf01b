"""Datasets: the embedded digits, CIFAR-10, MNIST/Fashion-MNIST, 2-D toys and your own files.

>>> from slopelab.data import Preprocessor, load_dataset
>>> dataset = load_dataset("digits", seed=0)      # raw float32 rows, split train/val/test
>>> preprocessor = Preprocessor(dataset.default_preprocess).fit(dataset.X_train)
>>> preprocessor.transform(dataset.X_val).shape
(144, 64)

- :func:`load_dataset` -- a name from :data:`DATASETS` (``digits``, ``cifar10``, ``mnist``,
  ``fashion-mnist``, ``toy2d``, ``toy2d:spiral`` ...) or a ``.npz``/``.csv``/svmlight path
  (svmlight and sparse ``.npz`` files give scipy CSR splits).
- :func:`save_sparse_npz` -- write a sparse matrix and its labels as a sparse ``.npz`` dataset.
- :func:`download` -- fetch a dataset from its official URL, SHA-256 verified.
- :class:`Preprocessor` -- center / standardize / scale, fitted on the training split only.
- :func:`default_data_dir`, :func:`resolve_data_dir` -- where datasets live
  (``--data-dir`` > ``$SLOPELAB_DATA`` > the user cache folder).
- :class:`DataError` -- every data problem, with a one-line message saying how to fix it.
"""

from slopelab.data.dataset import Dataset, row_to_image, rows_to_images
from slopelab.data.download import download
from slopelab.data.errors import DataError
from slopelab.data.locations import default_data_dir, resolve_data_dir
from slopelab.data.preprocess import Preprocessor
from slopelab.data.registry import DATASETS, DatasetInfo, RemoteFile, find_dataset, load_dataset
from slopelab.data.sparse_npz import save_sparse_npz

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "Preprocessor",
    "RemoteFile",
    "default_data_dir",
    "download",
    "find_dataset",
    "load_dataset",
    "resolve_data_dir",
    "row_to_image",
    "rows_to_images",
    "save_sparse_npz",
]
