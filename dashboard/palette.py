"""The colours and names every chart and map of the dashboard and the daily report share."""

GRADE_COLORS = {1: "#2fbf71", 2: "#a3d65c", 3: "#f2c925", 4: "#f28c28", 5: "#d7263d"}
GRADE_NAMES = {
    "zh": {1: "畅通", 2: "基本畅通", 3: "轻度拥堵", 4: "中度拥堵", 5: "严重拥堵"},
    "en": {1: "free flow", 2: "light", 3: "slow", 4: "congested", 5: "jammed"},
}
AQI_COLORS = {1: "#00E400", 2: "#FFFF00", 3: "#FF7E00", 4: "#FF0000", 5: "#99004C", 6: "#7E0023"}
INCIDENT_COLORS = {1: "#ff4d4f", 2: "#ff9a2e", 3: "#ffd60a", 4: "#4da3ff"}
NORMAL = "#8fa3b8"
INDEX_SCALE = [[0.0, "#b3262f"], [0.5, "#e08a2e"], [0.7, "#d9c63a"], [0.85, "#3aa66b"], [1.0, "#1f7a4f"]]

# The dark theme of the charts and the daily report.
BACKGROUND = "#111d2e"  # plot area
PAPER = "#0b1420"  # around the plot area, and text on a light level colour
TEXT = "#e6edf5"
MUTED = "#8aa0b8"  # what a chart says instead of data
GRID = "#22344d"
SERIES_COLORS = ("#7fc8ff", "#c3a6ff", "#7fe0b2", "#ffb3c7", "#d9e27a", "#9fb3c8")  # lines without meaning
