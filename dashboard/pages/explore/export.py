"""``/explore/export.<csv|parquet>?<state>``: the rows the charts of that state draw, as a download."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, request

from cityops.base.exports import neutralise_frame
from dashboard.explore.catalog import load_catalog, resolve_state
from dashboard.explore.data import load_explore_data
from dashboard.explore.export import export_filename, export_frame
from dashboard.explore.view import decode_state


def export_response(fmt: str) -> Any:
    """``/explore/export.<csv|parquet>?<state>``: the rows the charts of that state draw."""
    from dashboard.services import services

    if fmt not in ("csv", "parquet"):
        return Response("export formats: csv, parquet", status=404)
    svc = services()
    catalog = load_catalog(svc)
    state = resolve_state(decode_state(request.query_string.decode("utf-8", "replace")), catalog)
    frame = export_frame(load_explore_data(svc, state, catalog))
    name = export_filename(state, fmt)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        # A BOM so that Excel reads the file as UTF-8 (station names are Chinese). Names come from
        # departments' feeds: a text cell that would start a formula is written as text.
        text = neutralise_frame(frame).to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S")
        body = ("\ufeff" + text).encode("utf-8")
        return Response(body, content_type="text/csv; charset=utf-8", headers=headers)
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return Response(buf.getvalue(), mimetype="application/vnd.apache.parquet", headers=headers)
