"""``pyspark.testing.assertDataFrameEqual``, usable with the pinned pandas 3.

PySpark 4.3.0's ``assertDataFrameEqual`` imports ``pyspark.pandas`` whenever pandas
and pyarrow are installed, even to compare two Spark DataFrames, and
``pyspark.pandas`` does not import under pandas 3.1 (``DateOffset`` left
``pandas.tseries.frequencies``). These tests never compare pandas-on-Spark frames,
so when that import fails two placeholder modules stand in for it, making the
function's ``isinstance(..., ps.DataFrame)`` checks false; the comparison itself is
PySpark's own. Once pyspark.pandas imports again, this does nothing.
"""

from __future__ import annotations

import sys
import types

from cleaning.compat import no_pandas3_warning


def _stand_in_for_pandas_on_spark() -> None:
    try:
        with no_pandas3_warning():
            import pyspark.pandas  # noqa: F401
    except ImportError:
        placeholder = types.ModuleType("pyspark.pandas")
        placeholder.DataFrame = type("DataFrame", (), {})  # type: ignore[attr-defined]
        test_utils = types.ModuleType("pyspark.testing.pandasutils")
        test_utils.PandasOnSparkTestUtils = type("PandasOnSparkTestUtils", (), {})  # type: ignore[attr-defined]
        sys.modules["pyspark.pandas"] = placeholder
        sys.modules["pyspark.testing.pandasutils"] = test_utils


_stand_in_for_pandas_on_spark()

with no_pandas3_warning():
    from pyspark.testing import assertDataFrameEqual  # noqa: E402

__all__ = ["assertDataFrameEqual"]
