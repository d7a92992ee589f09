"""Version quirks of the pinned dependencies, in one place."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def no_pandas3_warning() -> Iterator[None]:
    """Silence PySpark's "does not yet fully support pandas >= 3.0.0" FutureWarning.

    The project pins pandas 3 with PySpark 4.3; what the clean job passes through
    Arrow (strings, int64 arrays) is covered by its tests, so the warning, raised
    whenever a pandas UDF is defined or a context starts, is noise here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield
