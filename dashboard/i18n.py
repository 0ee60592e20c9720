"""The one translation table. Every user-facing string goes through :func:`t`.

Chinese (zh) is the default; English (en) is the switch. A missing key is a bug, and the unit test
checks that every key has both languages.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "app.title": {"zh": "城市运行一网统管", "en": "City Operations"},
    "nav.feeds": {"zh": "数据接入", "en": "Feeds"},
    "map.title": {"zh": "城市运行一张图", "en": "City map"},
    "wall.title": {"zh": "清远市城市运行监测", "en": "Qingyuan City Operations"},
    "wall.reconnecting": {"zh": "正在重新连接…", "en": "Reconnecting…"},
    "wall.as_of": {"zh": "数据截至", "en": "as of"},
    "wall.kpi.traffic": {"zh": "交通指数", "en": "Traffic index"},
    "wall.kpi.air": {"zh": "最差空气质量指数", "en": "Worst AQI"},
    "wall.kpi.water": {"zh": "超警戒站点", "en": "Stations above warning"},
    "wall.kpi.water_of": {"zh": "共", "en": "of"},
    "wall.kpi.rain": {"zh": "最大3小时雨量", "en": "Heaviest 3-h rain"},
    "wall.kpi.incident": {"zh": "未办结事件", "en": "Open incidents"},
    "wall.none": {"zh": "无", "en": "none"},
    "wall.warnings": {"zh": "生效预警", "en": "Active warnings"},
    "wall.no_warnings": {"zh": "当前无生效预警", "en": "No active warnings"},
    "wall.acked": {"zh": "已签收", "en": "acknowledged"},
    "wall.unacked": {"zh": "未签收", "en": "not acknowledged"},
    "wall.trend.rain": {"zh": "最大小时雨量(mm)", "en": "Max hourly rain (mm)"},
    "wall.trend.incidents": {"zh": "新增事件", "en": "New incidents"},
    "wall.scene.overview": {"zh": "城市总览", "en": "City overview"},
    "wall.scene.water": {"zh": "水务防汛", "en": "Water & flood"},
    "wall.scene.traffic": {"zh": "交通运行", "en": "Traffic"},
    "wall.scene.air": {"zh": "空气质量", "en": "Air quality"},
    "map.as_of": {"zh": "数据截至", "en": "Data as of"},
    "feeds.title": {"zh": "数据接入与健康", "en": "Feed health"},
    "feeds.col.feed": {"zh": "数据源", "en": "Feed"},
    "feeds.col.department": {"zh": "部门", "en": "Department"},
    "feeds.col.domain": {"zh": "类别", "en": "Domain"},
    "feeds.col.freshness": {"zh": "状态", "en": "Status"},
    "feeds.col.data_as_of": {"zh": "数据截至", "en": "Data as of"},
    "feeds.col.last_run": {"zh": "最近运行", "en": "Last run"},
    "feeds.col.rows": {"zh": "入库/隔离", "en": "Loaded / quarantined"},
    "feeds.col.error": {"zh": "最近错误", "en": "Last error"},
    "feeds.runs": {"zh": "最近运行记录", "en": "Recent runs"},
    "feeds.quarantine": {"zh": "隔离数据（最近）", "en": "Quarantined rows (latest)"},
    "feeds.col.run": {"zh": "运行编号", "en": "Run"},
    "feeds.col.status": {"zh": "结果", "en": "Result"},
    "feeds.col.started": {"zh": "开始时间", "en": "Started"},
    "feeds.col.duration": {"zh": "耗时", "en": "Duration"},
    "feeds.col.fetched": {"zh": "获取", "en": "Fetched"},
    "feeds.col.inserted": {"zh": "新增", "en": "Inserted"},
    "feeds.col.updated": {"zh": "更新", "en": "Updated"},
    "feeds.col.rejected": {"zh": "隔离", "en": "Rejected"},
    "feeds.col.row": {"zh": "行号", "en": "Row"},
    "feeds.col.reason": {"zh": "原因", "en": "Reason"},
    "feeds.col.raw": {"zh": "原始数据", "en": "Raw row"},
    "feeds.none": {"zh": "尚未配置数据源", "en": "No feeds configured"},
    "feeds.no_quarantine": {"zh": "没有隔离数据", "en": "No quarantined rows"},
    "freshness.fresh": {"zh": "正常", "en": "Fresh"},
    "freshness.late": {"zh": "延迟", "en": "Late"},
    "freshness.stale": {"zh": "中断", "en": "Stale"},
    "freshness.never": {"zh": "未接入", "en": "Never"},
    "status.ok": {"zh": "成功", "en": "OK"},
    "status.partial": {"zh": "部分成功", "en": "Partial"},
    "status.failed": {"zh": "失败", "en": "Failed"},
    "status.running": {"zh": "运行中", "en": "Running"},
    "status.interrupted": {"zh": "中断", "en": "Interrupted"},
    "status.skipped": {"zh": "跳过", "en": "Skipped"},
    "clock.now": {"zh": "当前时间", "en": "Now"},
    "lang.switch": {"zh": "English", "en": "中文"},
    "domain.traffic": {"zh": "交通", "en": "Traffic"},
    "domain.air": {"zh": "空气", "en": "Air"},
    "domain.water": {"zh": "水位", "en": "Water"},
    "domain.rain": {"zh": "雨量", "en": "Rain"},
    "domain.incident": {"zh": "应急事件", "en": "Incidents"},
}


def t(key: str, lang: str = "zh") -> str:
    """The text for ``key`` in ``lang`` (zh when the language is unknown)."""
    entry = TEXT[key]
    return entry.get(lang) or entry["zh"]


def t_or(key: str, lang: str, fallback: str) -> str:
    """Like :func:`t`, but for keys built from data (a configured domain may have no entry)."""
    return t(key, lang) if key in TEXT else fallback
