"""Reference data: the districts and the entity catalogue (stations, road segments, gauges...)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from cityops.base.domains import ENTITY_TABLE_COLUMNS as ENTITY_COLUMNS
from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import utc_naive


class ReferenceData(Connection):
    """Districts and entities, loaded from the catalogue files and read by every page."""

    def upsert_districts(self, frame: pd.DataFrame) -> int:
        cols = ["code", "name", "name_en", "geometry", "lon", "lat"]
        staged = frame[cols]
        with self.transaction() as cur:
            cur.register("staged_districts", staged)
            try:
                cur.execute("DELETE FROM district WHERE code IN (SELECT code FROM staged_districts)")
                cur.execute(
                    f"INSERT INTO district ({', '.join(cols)}) SELECT {', '.join(cols)} FROM staged_districts"
                )
            finally:
                cur.unregister("staged_districts")
        return len(staged)

    def districts(self) -> pd.DataFrame:
        return self._df("SELECT * FROM district ORDER BY code")

    def upsert_entities(self, frame: pd.DataFrame, *, only_new: bool = False) -> int:
        """Insert or replace entities (catalogue rows); ``only_new`` keeps existing ones untouched."""
        staged = frame.copy()
        now = utc_naive(datetime.now(UTC))
        for col in ENTITY_COLUMNS:
            if col not in staged:
                staged[col] = now if col == "updated_at" else None
        if "props" in staged:
            staged["props"] = staged["props"].map(
                lambda v: (
                    None
                    if v is None or (isinstance(v, float) and np.isnan(v))
                    else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                )
            )
        staged = staged[list(ENTITY_COLUMNS)].drop_duplicates(subset=["entity_id"], keep="last")
        cols = ", ".join(ENTITY_COLUMNS)
        with self.transaction() as cur:
            cur.register("staged_entities", staged)
            try:
                if only_new:
                    n = cur.execute(
                        f"INSERT INTO entity ({cols}) SELECT {cols} FROM staged_entities s "
                        "ANTI JOIN entity e ON e.entity_id = s.entity_id"
                    ).fetchall()[0][0]
                else:
                    cur.execute(
                        "DELETE FROM entity WHERE entity_id IN (SELECT entity_id FROM staged_entities)"
                    )
                    n = cur.execute(
                        f"INSERT INTO entity ({cols}) SELECT {cols} FROM staged_entities"
                    ).fetchall()[0][0]
            finally:
                cur.unregister("staged_entities")
        return int(n)

    def entities(self, kind: str | None = None) -> pd.DataFrame:
        if kind is None:
            return self._df("SELECT * FROM entity ORDER BY kind, entity_id")
        return self._df("SELECT * FROM entity WHERE kind = ? ORDER BY entity_id", [kind])
