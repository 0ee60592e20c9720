"""/feeds shows each quarantine reason in the reader's language, with the technical detail at hand."""

from __future__ import annotations

import string

import pandas as pd
import pytest

from dashboard.i18n import TEXT
from dashboard.pages.feeds import build_quarantine_table, reason_texts
from ingest.reasons import make_reason
from tests.helpers import component_texts

SLIP = make_reason(
    "cell_unit_slip",
    "co: 1200 mg/m3 is outside the plausible range [0, 200] mg/m3 but 1.2 mg/m3 would be plausible",
    column="co",
    value="1200",
    min="0",
    max="200",
    unit="mg/m3",
    sent_unit="ug/m3",
)
SWAPPED = make_reason(
    "latlon_swapped", "point (23.7, 113.05) is outside the city", lon="23.70000", lat="113.05000", extent="…"
)


def test_codes_are_translated_with_their_parameters() -> None:
    assert reason_texts(SLIP, "zh") == [
        "字段 co 的值 1200 mg/m3 疑似单位错误（可能按 ug/m3 发送），已记为空值；请核对数据源的单位配置"
    ]
    assert reason_texts(SLIP, "en")[0].startswith(
        "co: 1200 mg/m3 looks like a unit slip (likely sent in ug/m3)"
    )
    assert "经纬度颠倒" in reason_texts(SWAPPED, "zh")[0]
    # Without a code (an older run), or with one this version does not know, the text shows as sent.
    assert reason_texts("line 4: 2 fields; [brand_new {}] x", "zh") == ["line 4: 2 fields", "x"]


def test_the_table_says_whether_the_row_landed_and_keeps_the_detail() -> None:
    rows = pd.DataFrame(
        [
            {"feed": "air", "row_number": 5, "reason": SLIP, "raw_row": "{}"},
            {"feed": "air", "row_number": 8, "reason": SWAPPED, "raw_row": "{}"},
        ]
    )
    shown = component_texts(build_quarantine_table(rows, "zh"))
    assert "该行其余数据已入库" in shown and "整行已隔离" in shown
    assert "技术细节" in shown
    assert any("1.2 mg/m3 would be plausible" in s for s in shown)


@pytest.mark.parametrize("key", sorted(k for k in TEXT if k.startswith("quarantine.")))
def test_every_reason_text_has_both_languages_with_the_same_parameters(key: str) -> None:
    fields = {
        lang: {f for _, f, _, _ in string.Formatter().parse(TEXT[key][lang]) if f} for lang in ("zh", "en")
    }
    assert fields["zh"] == fields["en"]
