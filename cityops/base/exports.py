"""Tables leaving the platform as CSV or spreadsheet files carry no formulas.

Station names, messages and comments come from departments' feeds and from users: a text cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a formula when the file
is opened in a spreadsheet (CSV injection). Such a cell is written with a leading apostrophe, which
spreadsheets show as text and never evaluate. Numbers, times and other typed cells are left as they are
(a negative number is a number, not text).

>>> [neutralise_cell(v) for v in ["=1+2", "-3", "@SUM(A1)", "\\tx", "清城区", -3, None]]
["'=1+2", "'-3", "'@SUM(A1)", "'\\tx", '清城区', -3, None]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` safe for a spreadsheet: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot run as formulas."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out
