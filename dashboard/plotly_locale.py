"""Plotly in the reader's language, with nothing loaded from outside.

Plotly's own texts (date axes' month and day names, the mode bar's buttons) are English unless the
graph's configuration names a locale *and* carries its dictionary. The dictionary goes with each
graph's ``config`` (``locales``), so no locale script is fetched and the app's content policy stays
strict. Every ``dcc.Graph`` takes its config from :func:`graph_config`.
"""

from __future__ import annotations

from typing import Any

# Chinese (mainland) conventions: months as numerals + 月, weeks as 星期/周, dates year-month-day.
ZH_CN: dict[str, Any] = {
    "dictionary": {
        "Autoscale": "自动缩放",
        "Box Select": "矩形框选",
        "Click to enter Colorscale title": "点击输入色阶标题",
        "Double-click to zoom back out": "双击返回缩放",
        "Download plot as a png": "下载图表为 PNG",
        "Download plot": "下载图表",
        "Lasso Select": "套索选择",
        "Orbital rotation": "轨道旋转",
        "Pan": "平移",
        "Produced with Plotly.js": "由 Plotly.js 生成",
        "Reset": "重置",
        "Reset axes": "重置坐标轴",
        "Reset camera to default": "重置镜头",
        "Reset camera to last save": "恢复上次保存的镜头",
        "Reset view": "重置视图",
        "Reset views": "重置视图",
        "Show closest data on hover": "悬停显示最近的数据",
        "Compare data on hover": "悬停比较数据",
        "Toggle Spike Lines": "切换辅助线",
        "Toggle show closest data on hover": "切换悬停显示最近的数据",
        "Turntable rotation": "转台旋转",
        "Zoom": "缩放",
        "Zoom in": "放大",
        "Zoom out": "缩小",
        "trace": "数据",
        "max": "最大值",
        "min": "最小值",
        "median": "中位数",
        "mean": "平均值",
        "q1": "下四分位数",
        "q3": "上四分位数",
        "lower fence": "下限",
        "upper fence": "上限",
        "kde": "核密度",
        "new text": "新文本",
    },
    "format": {
        "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        "months": [f"{n}月" for n in range(1, 13)],
        "shortMonths": [f"{n}月" for n in range(1, 13)],
        "date": "%Y-%m-%d",
        "decimal": ".",
        "thousands": ",",
    },
}

LOCALES = {"zh": "zh-CN", "en": "en"}


def graph_config(lang: str, **options: Any) -> dict[str, Any]:
    """A ``dcc.Graph`` config in ``lang``: Plotly's texts and date names in that language (no request
    leaves the page for them), plus ``options`` (``displayModeBar``, ``staticPlot``…)."""
    if lang != "zh":
        return {"locale": "en", **options}
    return {"locale": "zh-CN", "locales": {"zh-CN": ZH_CN}, **options}


_MINUTE, _DAY = 60_000, 86_400_000  # Plotly's dtick ranges are in milliseconds


def date_axis(lang: str) -> dict[str, Any]:
    """Date-axis tick formats in ``lang`` (merge into an axis): Chinese reads 6月14日 and 14:00, never
    "Jun 14, 2026"; English keeps Plotly's own."""
    if lang != "zh":
        return {}
    return {
        "tickformatstops": [
            {"dtickrange": [None, _MINUTE], "value": "%H:%M:%S"},
            {"dtickrange": [_MINUTE, _DAY], "value": "%H:%M\n%-m月%-d日"},
            {"dtickrange": [_DAY, 28 * _DAY], "value": "%-m月%-d日"},
            {"dtickrange": [28 * _DAY, None], "value": "%Y年%-m月"},
        ],
        "hoverformat": "%Y-%m-%d %H:%M",
    }
