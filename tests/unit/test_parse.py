"""ingest.parse: payload bytes → frames of raw records, bad lines apart, unreadable payloads as ParseError."""

from __future__ import annotations

import io
import json
import math

import openpyxl
import pandas as pd
import pytest

from ingest.errors import ParseError
from ingest.parse import (
    ROW,
    decode_text,
    dig,
    format_for_filename,
    json_safe,
    parse_csv,
    parse_geojson,
    parse_json,
    parse_payload,
    parse_xlsx,
)


def records(parsed):
    return parsed.frame.drop(columns=[ROW]).to_dict("records")


# -- JSON --------------------------------------------------------------------------------------


def test_json_list_keeps_values_as_sent_and_row_numbers():
    parsed = parse_json(b'[{"id": "A", "v": 1.5}, {"id": "B", "v": "2"}]')
    assert records(parsed) == [{"id": "A", "v": 1.5}, {"id": "B", "v": "2"}]
    assert list(parsed.frame[ROW]) == [1, 2]
    assert parsed.bad == []


def test_json_records_path_and_single_object():
    body = json.dumps({"code": 0, "data": {"items": {"id": "A"}}}).encode()
    assert records(parse_json(body, records="data.items")) == [{"id": "A"}]


def test_json_records_path_missing_names_what_is_there():
    with pytest.raises(ParseError, match=r"path 'data.rows' not found at 'rows' \(found: items, total\)"):
        parse_json(b'{"data": {"items": [], "total": 0}}', records="data.rows")


def test_json_non_object_records_are_bad_not_fatal():
    parsed = parse_json(b'[{"id": "A"}, 5, ["x"], {"id": "B"}]')
    assert list(parsed.frame[ROW]) == [1, 4]
    assert [(b.row, b.reason) for b in parsed.bad] == [
        (2, "record 2 is a int, not an object"),
        (3, "record 3 is a list, not an object"),
    ]


def test_json_empty_list_is_zero_records():
    parsed = parse_json(b"[]")
    assert len(parsed.frame) == 0 and parsed.bad == []


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_json_empty_payload(body):
    with pytest.raises(ParseError, match=r"is empty \(\d+ bytes\)"):
        parse_json(body, what="feed x")


def test_json_malformed_says_where():
    with pytest.raises(
        ParseError, match=r"feed x is not valid JSON: .* at line 1 column \d+ \(of 22 bytes\)"
    ) as info:
        parse_json(b'[{"id": "A", "v": 1.5,', what="feed x")
    assert "landing area" in str(info.value)


def test_json_not_a_list():
    with pytest.raises(ParseError, match="expected a list of records, got str"):
        parse_json(b'{"data": "none"}', records="data")


def test_json_nan_literals_are_kept_as_their_text():
    # As text, a number column reads them as invalid values; a float NaN would pass for a missing one.
    parsed = parse_json(b'[{"v": NaN}, {"v": Infinity}, {"v": -Infinity}, {"v": 1.5}]')
    assert list(parsed.frame["v"]) == ["NaN", "Infinity", "-Infinity", 1.5]


@pytest.mark.parametrize(
    ("data", "why"),
    [(b'[{"v": ' + b"9" * 5000 + b"}]", "more than 4300 digits"), (b"[" * 200_000, "nested too deeply")],
)
def test_json_beyond_what_python_holds_is_a_parse_error(data, why):
    with pytest.raises(ParseError, match=why) as caught:
        parse_json(data)
    assert "starting" in caught.value.message and len(caught.value.message) < 400


def test_json_in_gbk_is_decoded():
    parsed = parse_json('[{"站点": "清城"}]'.encode("gbk"))
    assert records(parsed) == [{"站点": "清城"}]
    assert parsed.encoding == "gb18030"


# -- CSV ---------------------------------------------------------------------------------------


def test_csv_values_stay_text_and_rows_are_line_numbers():
    parsed = parse_csv(b"id,v,code\nA,1.50,007\nB,,010\n")
    rows = records(parsed)
    assert rows[0] == {"id": "A", "v": "1.50", "code": "007"}
    assert rows[1]["code"] == "010" and pd.isna(rows[1]["v"])  # an empty field is missing
    assert list(parsed.frame[ROW]) == [2, 3]


def test_csv_truncated_last_line_is_a_bad_record():
    parsed = parse_csv(b"id,t,v\nA,2026-06-15 08:00:00,1\nB,2026-06-15 08:0")
    assert list(parsed.frame["id"]) == ["A"]
    (bad,) = parsed.bad
    assert bad.row == 3
    assert bad.reason == "line 3: 2 fields, the header has 3 (truncated payload?)"
    assert bad.raw == "B,2026-06-15 08:0"


def test_csv_extra_fields_and_line_numbers_after_a_bad_line():
    parsed = parse_csv(b"id,v\nA,1\nB,2,3\nC,3\r\nD,4\r\n")
    assert [(r["id"], r[ROW]) for r in parsed.frame.to_dict("records")] == [("A", 2), ("C", 4), ("D", 5)]
    assert [(b.row, b.reason) for b in parsed.bad] == [(3, "line 3: 3 fields, the header has 2")]


def test_csv_many_rows_with_a_bad_one_keep_exact_line_numbers():
    lines = ["id,v"] + [f"S{i},{i}" for i in range(50_000)]
    lines[30_001] = "S30000"  # line 30002
    parsed = parse_csv(("\n".join(lines) + "\n").encode())
    assert len(parsed.frame) == 49_999
    assert [b.row for b in parsed.bad] == [30_002]
    row = parsed.frame[parsed.frame["id"] == "S30001"][ROW].iloc[0]
    assert row == 30_003


def test_csv_with_bom_and_semicolons():
    parsed = parse_csv("\ufeffid;名称\nA;北江\n".encode(), delimiter=";")
    assert records(parsed) == [{"id": "A", "名称": "北江"}]


def test_csv_gbk_auto_and_explicit():
    data = "站点,数值\n清城,1\n".encode("gbk")
    assert parse_csv(data).encoding == "gb18030"
    assert records(parse_csv(data, encoding="gbk")) == [{"站点": "清城", "数值": "1"}]
    with pytest.raises(
        ParseError, match=r"is not valid utf-8 text \(bad byte 0x[0-9a-f]{2} at offset \d+\)"
    ) as info:
        parse_csv(data, encoding="utf-8")
    assert "gbk" in str(info.value)


def test_csv_unknown_encoding():
    with pytest.raises(ParseError, match="unknown encoding 'klingon'"):
        parse_csv(b"a\n1\n", encoding="klingon")


def test_csv_header_only_is_zero_rows():
    parsed = parse_csv(b"id,v\n")
    assert len(parsed.frame) == 0 and list(parsed.frame.columns) == ["id", "v", ROW]


def test_csv_repeated_header_name():
    with pytest.raises(ParseError, match="repeats a column name"):
        parse_csv(b"id,v,v\n1,2,3\n")


def test_csv_unterminated_quote_does_not_lose_the_good_rows():
    parsed = parse_csv(b'id,note,v\nA,ok,1\nB,"never closed,2\n')
    assert list(parsed.frame["id"]) == ["A"]
    assert [b.row for b in parsed.bad] == [3]


# -- GeoJSON and Excel -------------------------------------------------------------------------


def test_geojson_points_lines_and_polygons_get_a_position():
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [113.0, 23.6]},
                "properties": {"id": "P"},
            },
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[113.0, 23.0], [113.1, 23.1], [113.2, 23.2]],
                },
                "properties": {"id": "L"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2]]]},
                "properties": {"id": "G", "lon": 9.0},
            },
            {"type": "Feature", "geometry": None, "properties": {"id": "N"}},
        ],
    }
    parsed = parse_geojson(json.dumps(fc).encode())
    rows = {r["id"]: r for r in parsed.frame.to_dict("records")}
    assert (rows["P"]["lon"], rows["P"]["lat"]) == (113.0, 23.6)
    assert (rows["L"]["lon"], rows["L"]["lat"]) == (113.1, 23.1)
    assert (rows["G"]["lon"], rows["G"]["lat"]) == (9.0, 1.0)  # a property wins over the geometry
    assert math.isnan(rows["N"]["lon"])
    assert json.loads(rows["P"]["geometry"]) == {"type": "Point", "coordinates": [113.0, 23.6]}


def test_geojson_must_be_a_feature_collection():
    with pytest.raises(ParseError, match="expected a GeoJSON FeatureCollection"):
        parse_geojson(b'{"type": "Feature"}')


def xlsx_bytes(rows):
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_rows_and_blank_rows():
    data = xlsx_bytes([["id", "v"], ["A", 1], [None, None], ["B", 2.5]])
    parsed = parse_xlsx(data)
    assert records(parsed) == [{"id": "A", "v": 1}, {"id": "B", "v": 2.5}]
    assert list(parsed.frame[ROW]) == [2, 4]  # spreadsheet row numbers


def test_xlsx_unreadable_and_missing_sheet():
    with pytest.raises(ParseError, match="is not a readable Excel workbook"):
        parse_xlsx(b"PK\x03\x04 not really")
    with pytest.raises(ParseError, match="cannot read sheet 'Nope'"):
        parse_xlsx(xlsx_bytes([["id"], ["A"]]), sheet="Nope")


# -- helpers -----------------------------------------------------------------------------------


def test_parse_payload_dispatch_and_unknown_format():
    assert len(parse_payload(b"a\n1\n", "csv").frame) == 1
    with pytest.raises(ParseError, match="unknown payload format 'xml'"):
        parse_payload(b"<x/>", "xml")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.CSV", "csv"), ("b.json", "json"), ("c.geojson", "geojson"), ("d.xlsx", "xlsx"), ("e.txt", "csv")],
)
def test_format_for_filename(name, fmt):
    assert format_for_filename(name) == fmt


def test_format_for_filename_unknown():
    with pytest.raises(ParseError, match=r"cannot tell the format of 'x\.bin'"):
        format_for_filename("x.bin")


def test_decode_text_reports_neither_utf8_nor_gb18030():
    with pytest.raises(ParseError, match="neither UTF-8 nor GB18030"):
        decode_text(b"\x81\x30\x81", "auto")  # an incomplete four-byte GB18030 sequence


def test_dig_into_lists():
    assert dig({"a": [{"b": 1}, {"b": 2}]}, "a.1.b") == 2


def test_json_safe():
    import numpy as np

    assert json_safe(float("nan")) is None
    assert json_safe(np.int64(3)) == 3 and isinstance(json_safe(np.int64(3)), int)
    assert json_safe(pd.Timestamp("2026-06-15 08:00")) == "2026-06-15T08:00:00"
    assert json_safe("x") == "x"
