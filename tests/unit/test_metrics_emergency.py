"""Emergency metrics as of an instant: states, open counts, new/closed per local period, time statistics."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics.emergency import (
    ALL_TYPES,
    incident_state,
    new_and_closed,
    open_incidents,
    response_stats,
    severity_class,
)

AS_OF = pd.Timestamp("2026-06-15 01:00")  # 09:00 in Asia/Shanghai


def _incidents() -> pd.DataFrame:
    ts = pd.to_datetime
    return pd.DataFrame(
        {
            "incident_id": ["a", "b", "c", "d", "e", "f"],
            "type": ["fire", "fire", "flood", "flood", "fire", "flood"],
            "severity": [4, 2, 3, 4, 1, 3],
            "status": ["closed", "dispatched", "open", "closed", "closed", "dispatched"],
            # a: 23:50 local on the 14th; e: reported after AS_OF
            "reported_at": ts(
                [
                    "2026-06-14 15:50",
                    "2026-06-15 00:10",
                    "2026-06-15 00:30",
                    "2026-06-15 00:00",
                    "2026-06-15 02:00",
                    "2026-06-15 00:20",
                ]
            ),
            "dispatched_at": ts(
                ["2026-06-14 16:00", "2026-06-15 00:40", None, None, "2026-06-15 02:05", "2026-06-15 01:30"]
            ),
            # f's dispatch and b's closing happen after AS_OF (a later state of the row)
            "closed_at": ts(["2026-06-14 17:00", "2026-06-15 02:00", None, None, "2026-06-15 03:00", None]),
            "district_code": ["X", "X", "Y", "Y", "X", "Y"],
        }
    )


def test_severity_class_names() -> None:
    assert severity_class(1) == "Ⅰ 特别重大" and severity_class(4) == "Ⅳ 一般"
    assert severity_class(2, "en") == "Ⅱ major" and severity_class(None) == "" and severity_class(9) == ""


def test_incident_state_as_of() -> None:
    # a closed 17:00 (before); b dispatched 00:40, closes at 02:00 (after) → dispatched; c open;
    # d status closed without closed_at → closed (convention); e not yet reported;
    # f dispatched 01:30 (after) → open
    assert incident_state(_incidents(), AS_OF).tolist() == [
        "closed",
        "dispatched",
        "open",
        "closed",
        "not_reported",
        "open",
    ]
    later = incident_state(_incidents(), "2026-06-15 04:00").tolist()
    assert later == ["closed", "closed", "open", "closed", "closed", "dispatched"]


def test_open_incidents_by_type_and_class() -> None:
    out = open_incidents(_incidents(), AS_OF)
    # active: b fire Ⅱ (dispatched); c flood Ⅲ (open); f flood Ⅲ (open)
    assert out[["type", "severity", "open", "dispatched", "active"]].values.tolist() == [
        ["fire", 2, 0, 1, 1],
        ["flood", 3, 2, 0, 2],
    ]
    assert out["class_zh"].tolist() == ["重大", "较大"] and out["class_roman"].tolist() == ["Ⅱ", "Ⅲ"]
    by_district = open_incidents(_incidents(), AS_OF, by_district=True)
    assert by_district[["district_code", "type", "active"]].values.tolist() == [
        ["X", "fire", 1],
        ["Y", "flood", 2],
    ]
    empty = open_incidents(_incidents(), "2026-06-01")
    assert empty.empty and "active" in empty.columns


def test_new_and_closed_hourly_local() -> None:
    out = new_and_closed(_incidents(), AS_OF, freq="h", periods=3)
    # local hours 07:00, 08:00, 09:00 (+08:00) = 23:00, 00:00, 01:00 UTC
    assert out["period_start_utc"].tolist() == list(
        pd.to_datetime(["2026-06-14 23:00", "2026-06-15 00:00", "2026-06-15 01:00"])
    )
    assert str(out["period_start"].dt.tz) == "Asia/Shanghai"
    # 08:00 local hour: b 00:10, c 00:30, d 00:00, f 00:20 UTC → 4 new; e (02:00) is after AS_OF
    assert out["new"].tolist() == [0, 4, 0] and out["closed"].tolist() == [0, 0, 0]


def test_new_and_closed_daily_local_boundary() -> None:
    out = new_and_closed(_incidents(), AS_OF, freq="D", periods=2)
    # local day 2026-06-14 = [06-13 16:00, 06-14 16:00) UTC: a (15:50 UTC) → 1 new
    # local day 2026-06-15 up to AS_OF: b, c, d, f new; a closed 17:00 UTC = 01:00 local on the 15th
    assert out["period_start"].dt.strftime("%Y-%m-%d").tolist() == ["2026-06-14", "2026-06-15"]
    assert out["new"].tolist() == [1, 4] and out["closed"].tolist() == [0, 1]
    utc = new_and_closed(_incidents(), AS_OF, freq="D", periods=1, tz="UTC")
    assert utc["new"].tolist() == [4] and utc["closed"].tolist() == [0]  # UTC day 06-15 only
    with pytest.raises(ValueError):
        new_and_closed(_incidents(), AS_OF, freq="W")  # type: ignore[arg-type]


def test_response_and_handling_stats() -> None:
    out = response_stats(_incidents(), AS_OF).set_index("type")
    # fire: a responded in 10 min, b in 30 min (f and e dispatch after AS_OF);
    # median 20, p90 = 10 + 0.9·20 = 28
    assert out.loc["fire", "response_count"] == 2
    assert out.loc["fire", "response_median_min"] == pytest.approx(20.0)
    assert out.loc["fire", "response_p90_min"] == pytest.approx(28.0)
    # handling: only a (70 min) had closed by AS_OF
    assert out.loc["fire", "handling_count"] == 1 and out.loc["fire", "handling_median_min"] == pytest.approx(
        70.0
    )
    assert out.loc["flood", "response_count"] == 0 and math.isnan(out.loc["flood", "response_median_min"])
    assert out.loc[ALL_TYPES, "response_count"] == 2
    # Later, f (70 min) and b's handling (110 min) count; e is reported at 02:00 and handled in 60 min.
    late = response_stats(_incidents(), "2026-06-15 04:00").set_index("type")
    assert late.loc["flood", "response_median_min"] == pytest.approx(70.0)
    # fire handling: a 70, b 110, e 60 → median 70, p90 = 70 + 0.8·(110 − 70) = 102
    assert late.loc["fire", "handling_median_min"] == pytest.approx(70.0)
    assert late.loc["fire", "handling_p90_min"] == pytest.approx(102.0)
    since = response_stats(_incidents(), "2026-06-15 04:00", since="2026-06-15 00:15", include_all=False)
    assert ALL_TYPES not in since["type"].tolist()
    # since 00:15 excludes a and b (and d, reported 00:00): fire handling is e alone
    assert since.set_index("type").loc["fire", "handling_count"] == 1


def test_negative_durations_are_left_out() -> None:
    bad = _incidents().iloc[[0]].assign(dispatched_at=pd.Timestamp("2026-06-14 15:00"))
    assert response_stats(bad, AS_OF).set_index("type").loc["fire", "response_count"] == 0
