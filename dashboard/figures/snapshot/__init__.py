"""Figures of the daily warning snapshot: pure builders (frames in, ``go.Figure`` out), a module per
section of the report.

- :mod:`.warnings`: warnings per event and level, per department and district.
- :mod:`.map`: the day's warnings on the city, as plain scatter traces (not MapLibre: see there why).
- :mod:`.environment`: the day's AQI per station.
- :mod:`.water`: river peaks against their warning levels; the heaviest rainfall.
- :mod:`.traffic`: the traffic index over the day.
- :mod:`.incidents`: incidents per type and severity class, and response times.
- :mod:`.feeds`: the feeds' outages and failed runs.
- :mod:`.summary`: the one-page summary image.
- :mod:`.common`: the layout, colours and empty-chart message they share.

Every builder that may receive nothing to draw says so on the figure (``empty_message``) instead of
leaving a blank chart; whether "nothing" is an error is the caller's decision.
"""

from dashboard.figures.snapshot.common import build_message_figure, level_color
from dashboard.figures.snapshot.environment import build_aqi_figure
from dashboard.figures.snapshot.feeds import build_feed_figure
from dashboard.figures.snapshot.incidents import build_incident_figure
from dashboard.figures.snapshot.map import build_snapshot_map
from dashboard.figures.snapshot.summary import build_summary_figure
from dashboard.figures.snapshot.traffic import build_traffic_figure
from dashboard.figures.snapshot.warnings import build_level_bars, build_place_bars
from dashboard.figures.snapshot.water import build_rain_figure, build_water_figure

__all__ = [
    "build_aqi_figure",
    "build_feed_figure",
    "build_incident_figure",
    "build_level_bars",
    "build_message_figure",
    "build_place_bars",
    "build_rain_figure",
    "build_snapshot_map",
    "build_summary_figure",
    "build_traffic_figure",
    "build_water_figure",
    "level_color",
]
