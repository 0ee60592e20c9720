"""One kind of the catalogue's entities as the arrays a series is computed from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sample_data.catalogue import Catalogue
from sample_data.streams import hash_keys

__all__ = ["Entities", "load_entities"]


@dataclass(frozen=True)
class Entities:
    """The rows of one kind (``frame``) with ids, random-stream keys and district codes in catalogue order."""

    frame: pd.DataFrame
    ids: np.ndarray
    keys: np.ndarray
    districts: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    def numbers(self, column: str) -> np.ndarray:
        """A numeric property as float64; NaN where it is missing or not a number, or for every row
        when the catalogue lacks the column."""
        if len(self) and column in self.frame:
            return pd.to_numeric(self.frame[column], errors="coerce").to_numpy(dtype=np.float64)
        return np.full(len(self), np.nan)

    def texts(self, column: str, default: str) -> np.ndarray:
        """A text property as str; ``default`` for every row when the catalogue lacks the column."""
        if len(self) and column in self.frame:
            return self.frame[column].astype(str).to_numpy()
        return np.full(len(self), default)

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """(lon, lat) in WGS-84 degrees."""
        if not len(self):
            return np.empty(0), np.empty(0)
        return self.frame["lon"].to_numpy(dtype=np.float64), self.frame["lat"].to_numpy(dtype=np.float64)


def load_entities(catalogue: Catalogue, kind: str, seed: int, label: str) -> Entities:
    """The catalogue's entities of ``kind``, keyed for random streams by ``(seed, id, label)``."""
    df = catalogue.by_kind.get(kind, pd.DataFrame())
    n = len(df)
    ids = df["entity_id"].to_numpy(dtype=object) if n else np.empty(0, dtype=object)
    districts = df["district_code"].astype(str).to_numpy() if n else np.empty(0, dtype=object)
    return Entities(frame=df, ids=ids, keys=hash_keys(seed, ids, label), districts=districts)
