"""The report's HTML document (``report.html``), rendered from ``templates/report.html.j2``.

The template is autoescaped: department text (rule titles, names, departments, feed errors) is
escaped by Jinja, never by hand. Only two fragments are marked safe, each in one place below: the
plotly.js bundle and each figure's div, both written by plotly from our own figure objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from cityops.base.times import local_text
from dashboard.documents import html_environment
from dashboard.snapshot.report import Report, ReportFigure
from dashboard.snapshot.values import as_text, format_place
from geo.styles import external_urls

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]}


@dataclass(frozen=True)
class OpenRow:
    """A warning still open at the cut-off, as the report's table shows it."""

    level: int
    title: str
    place: str
    department: str
    since: str
    age_h: float
    state: str
    acknowledged: bool
    acknowledged_by: str


@dataclass(frozen=True)
class FigureBlock:
    """One figure of the report: its name (``data-figure``) and its plotly div."""

    name: str
    div: Markup


def render_report_html(
    rep: Report,
    status: str,
    reason: str | None,
    figures: Sequence[ReportFigure],
    headline: Sequence[tuple[str, str]],
) -> str:
    """The self-contained HTML report: plotly.js embedded once, no external URL."""
    w = rep.w
    return (
        html_environment(TEMPLATES)
        .get_template("report.html.j2")
        .render(
            lang="zh-CN" if rep.lang == "zh" else "en",
            tr=rep.tr,
            level_name=rep.level_name,
            title=rep.tr("snapshot.title", city=rep.city_name(), day=w.day.isoformat()),
            window=rep.tr(
                "snapshot.window",
                start=w.local_start.strftime("%Y-%m-%d %H:%M"),
                end=w.local_end.strftime("%Y-%m-%d %H:%M"),
                tz=rep.tz,
            ),
            pack_version=rep.pack_version,
            status=status,
            reason=reason,
            headline=headline,
            no_warnings=bool(rep.summary.get("warnings", {}).get("none")),
            open_rows=_list_open_rows(rep),
            figures=[FigureBlock(f.name, _figure_div(f)) for f in figures],
            feed_rows=rep.feed_table or [],
            plotly_js=_plotly_js(),
        )
    )


def _list_open_rows(rep: Report) -> list[OpenRow]:
    if rep.open_rows is None:
        return []
    return [
        OpenRow(
            level=int(r["level"]),
            title=r["rule_title"],
            place=format_place(r["name"], r["district"]),
            department=r["department"],
            since=local_text(r["activated_at"], rep.tz),
            age_h=r["age_h"],
            state=r["state_at"],
            acknowledged=bool(r["acknowledged"]),
            acknowledged_by=as_text(r["acknowledged_by"]),
        )
        for r in rep.open_rows.to_dict("records")
    ]


def _figure_div(figure: ReportFigure) -> Markup:
    div = figure.fig.to_html(
        full_html=False,
        include_plotlyjs=False,  # the template embeds plotly.js once, in its head
        div_id=f"fig-{figure.name}",
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height=f"{figure.height}px",
    )
    # Trusted: plotly writes this div and its script from our figure object (its id is our figure's
    # name) and serialises every value, department text included, as JSON with "<", ">" and "/"
    # escaped, so no text can close the script; escaping the fragment again would break it.
    return Markup(div)


def _plotly_js() -> Markup:
    from plotly.offline import get_plotlyjs

    # Trusted: the plotly.js bundle of the installed plotly package, the same code the dashboard serves.
    return Markup(get_plotlyjs())


def report_external_urls(text: str, allowed_hosts: Sequence[str] = ()) -> list[str]:
    """External URLs in a report, outside the embedded plotly.js bundle (whose code carries URL strings
    it only uses when a figure asks for them, e.g. hosted map styles, which the snapshot never does)."""
    from plotly.offline import get_plotlyjs

    return external_urls(text.replace(get_plotlyjs(), ""), allowed_hosts=allowed_hosts)
