"""The `cityops` command. Every error a user can cause is one line plus the fix, never a traceback."""

from __future__ import annotations

import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from cityops.base.errors import CityopsError, ConfigError

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    help="cityops — one network, unified management of a city's operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
ingest_app = typer.Typer(
    help="Pull departmental feeds, list runs, replay a landed payload.", no_args_is_help=True
)
db_app = typer.Typer(help="The warehouse (DuckDB).", no_args_is_help=True)
config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")

ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML configuration file ('demo' for the built-in demo configuration "
        "on ./cityops-data). Default: $CITYOPS_CONFIG or ./cityops.toml.",
    ),
]


def _load(config: str | None) -> Any:
    from cityops.base.settings import load_settings

    if config == "demo":
        from cityops.demo import DEMO_MARKER, demo_settings

        if not (Path("cityops-data") / DEMO_MARKER).exists():
            raise ConfigError(
                "there is no demo data in ./cityops-data", hint="run `cityops demo` (from this folder) first"
            )

        # The demo feed server only runs inside `cityops demo`; this is for inspecting its data.
        return demo_settings(Path("cityops-data"), "http://127.0.0.1:9")
    path = config or os.environ.get("CITYOPS_CONFIG") or "cityops.toml"
    if not Path(path).exists() and config is None:
        raise ConfigError(
            f"no configuration given and {path} does not exist",
            hint="pass --config FILE (see cityops.example.toml), or --config demo for the demo's data",
        )
    return load_settings(path)


def _runtime(config: Any) -> Any:
    """The runtime of a configuration (a --config value, or settings already loaded)."""
    from cityops.server import open_runtime

    return open_runtime(config if hasattr(config, "storage") else _load(config))


def _text(value: Any) -> str:
    """A frame's text cell: missing values (None or NaN) as an empty string."""
    return value if isinstance(value, str) else ""


def _progress(label: str, *, transient: bool) -> Any:
    """A progress bar on stderr (stdout stays a clean table): label, bar, done/total, elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
    )


def _local(settings: Any, value: Any) -> str:
    from cityops.base.times import local_text

    return local_text(value, settings.city.timezone, "%Y-%m-%d %H:%M:%S")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8050,
    data_dir: Annotated[
        Path, typer.Option(help="Folder for the demo's database, raw payloads and snapshots.")
    ] = Path("cityops-data"),
    speed: Annotated[
        float, typer.Option(help="How many times faster than real time the demo clock runs.")
    ] = 60.0,
    keep: Annotated[
        bool, typer.Option(help="Keep the previous demo's data instead of starting afresh.")
    ] = False,
) -> None:
    """Run the whole product with the demo city (Qingyuan): feeds, scheduler and dashboard."""
    from cityops.demo import run_demo

    _install_sigterm()
    run_demo(port=port, data_dir=data_dir, speed=speed, keep=keep, console=console)


@app.command()
def serve(
    config: ConfigOpt = None, port: Annotated[int | None, typer.Option(help="Override server.port.")] = None
) -> None:
    """Production: dashboard + scheduler from a configuration file, in one process."""
    from cityops.server import build_server

    settings = _load(config)
    if port is not None:
        settings = settings.model_copy(update={"server": settings.server.model_copy(update={"port": port})})
    from cityops.server import open_runtime

    rt = open_runtime(settings)
    server = build_server(rt)
    console.print(f"cityops serving {settings.city.name} on {server.url} (health: {server.url}/healthz)")
    _install_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        server.stop()


def _install_sigterm() -> None:
    def handler(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@db_app.command("init")
def db_init(config: ConfigOpt = None) -> None:
    """Create or migrate the warehouse and load the city's reference data."""
    from cityops.base.warehouse import open_warehouse
    from ingest.reference import load_reference_data

    settings = _load(config)
    with open_warehouse(settings) as wh:
        counts = load_reference_data(settings, wh)
        console.print(
            f"database {settings.storage.database_path}: schema version {wh.schema_version()}; "
            f"{counts['districts']} districts, {counts['entities']} entities loaded"
        )


def _parse_from(value: str, tz: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(UTC)


@ingest_app.command("run")
def ingest_run(
    feeds: Annotated[
        list[str] | None, typer.Argument(help="Feeds to pull (default: every enabled feed).")
    ] = None,
    config: ConfigOpt = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Backfill from this date/time (city timezone).")
    ] = None,
) -> None:
    """Pull feeds now, print a summary table; exit 1 if any feed failed."""
    from ingest.pipeline import run_feed

    rt = _runtime(config)
    settings = rt.settings
    names = feeds or [n for n, f in settings.feeds.items() if f.enabled]
    unknown = [n for n in names if n not in settings.feeds]
    if unknown:
        raise ConfigError(
            f"unknown feed(s): {', '.join(unknown)}",
            hint=f"configured feeds: {', '.join(settings.feeds) or 'none'}",
        )
    since = _parse_from(from_, settings.city.timezone) if from_ else None
    reports = []
    with _progress("{task.fields[feed]:<16}", transient=since is None) as progress:
        for name in names:
            task = progress.add_task("", feed=name, total=None)

            def on_progress(_f: str, done: int, total: int | None, task: Any = task) -> None:
                progress.update(task, completed=done, total=total)

            report = run_feed(
                rt, name, trigger="backfill" if since else "manual", since=since, on_progress=on_progress
            )
            progress.update(task, completed=report.rows_fetched, total=max(report.rows_fetched, 1))
            reports.append(report)
    table = Table(title="ingest run")
    for col in (
        "feed",
        "status",
        "fetched",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "seconds",
        "error",
    ):
        table.add_column(
            col,
            justify="right"
            if col in ("fetched", "inserted", "updated", "unchanged", "rejected", "seconds")
            else "left",
        )
    for r in reports:
        style = {"ok": "green", "partial": "yellow", "failed": "red"}.get(r.status, "")
        table.add_row(
            r.feed,
            f"[{style}]{r.status}[/]",
            str(r.rows_fetched),
            str(r.rows_inserted),
            str(r.rows_updated),
            str(r.rows_unchanged),
            str(r.rows_rejected),
            f"{r.duration_s:.1f}",
            (r.error or "")[:160],
        )
    console.print(table)
    rt.warehouse.close()
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


@ingest_app.command("list")
def ingest_list(
    config: ConfigOpt = None,
    feed: Annotated[str | None, typer.Option(help="Only this feed's runs.")] = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
) -> None:
    """Feed health and the latest runs."""
    from dashboard.services import Services

    rt = _runtime(config)
    svc = Services(rt)
    health = Table(title="feeds")
    for col in ("feed", "department", "domain", "freshness", "data as of", "last error"):
        health.add_column(col)
    colours = {"fresh": "green", "late": "yellow", "stale": "red", "never": "dim"}
    for h in svc.feed_health():
        health.add_row(
            h.feed,
            h.department,
            h.domain,
            f"[{colours[h.freshness]}]{h.freshness}[/]",
            _local(rt.settings, h.last_data_at or h.last_success_at),
            _text(h.last_error)[:80],
        )
    console.print(health)
    runs = rt.warehouse.runs(feed=feed, limit=limit)
    table = Table(title="runs (newest first)")
    for col in ("run id", "feed", "trigger", "status", "started", "fetched", "ins", "upd", "rej", "error"):
        table.add_column(col)
    for r in runs.to_dict("records"):
        table.add_row(
            r["run_id"],
            r["feed"],
            r["trigger"],
            r["status"],
            _local(rt.settings, r["started_at"]),
            str(r["rows_fetched"]),
            str(r["rows_inserted"]),
            str(r["rows_updated"]),
            str(r["rows_rejected"]),
            _text(r["error"])[:80],
        )
    console.print(table)
    rt.warehouse.close()


@ingest_app.command("replay")
def ingest_replay(
    run_id: Annotated[str, typer.Argument(help="The run whose landed payload to parse again.")],
    config: ConfigOpt = None,
) -> None:
    """Parse a run's landed raw payload again (with the current mapping) and upsert it."""
    from ingest.pipeline import replay_run

    rt = _runtime(config)
    report = replay_run(rt, run_id)
    console.print(
        f"replay of {run_id} as {report.run_id}: {report.status}; fetched {report.rows_fetched}, "
        f"inserted {report.rows_inserted}, updated {report.rows_updated}, unchanged {report.rows_unchanged}, "
        f"quarantined {report.rows_rejected}" + (f"; error: {report.error}" if report.error else "")
    )
    rt.warehouse.close()
    if report.status == "failed":
        raise typer.Exit(1)


warnings_app = typer.Typer(help="Warnings raised by the rule engine.", no_args_is_help=True)
rules_app = typer.Typer(help="Rule packs: check them, back-test them over history.", no_args_is_help=True)
app.add_typer(warnings_app, name="warnings")
app.add_typer(rules_app, name="rules")

LEVEL_STYLE = {
    1: ("红色", "bold white on red"),
    2: ("橙色", "bold black on dark_orange"),
    3: ("黄色", "bold black on yellow"),
    4: ("蓝色", "bold white on blue"),
}
STATE_ZH = {
    "pending": "待确认",
    "active": "生效",
    "acknowledged": "已签收",
    "suppressed": "已抑制",
    "resolved": "已解除",
}


@warnings_app.command("list")
def warnings_list(
    config: ConfigOpt = None,
    active: Annotated[
        bool, typer.Option("--active", help="Only open warnings (pending, active, acknowledged, suppressed).")
    ] = False,
    limit: Annotated[int, typer.Option(help="How many.")] = 100,
) -> None:
    """Warnings, most severe first."""
    rt = _runtime(config)
    frame = rt.warehouse.warnings(open_only=active, limit=limit)
    table = Table(title=f"warnings ({'open' if active else 'all'}): {len(frame)}")
    for col in ("id", "level", "state", "rule", "summary", "since"):
        table.add_column(col, overflow="fold", no_wrap=col in ("id", "level", "state"))
    for w in frame.to_dict("records"):
        name, style = LEVEL_STYLE[int(w["level"])]
        since = (
            w["activated_at"]
            if w["activated_at"] == w["activated_at"] and w["activated_at"] is not None
            else w["created_at"]
        )
        table.add_row(
            w["warning_id"],
            f"[{style}] {name} [/]",
            STATE_ZH.get(w["state"], w["state"]),
            w["rule_id"],
            _text(w["summary"]) or _text(w["name"]) or str(w["key"]),
            _local(rt.settings, since),
        )
    console.print(table)
    for version in sorted(set(frame["pack_version"])) if len(frame) else []:
        console.print(f"rule pack: {version}")
    rt.warehouse.close()


@app.command()
def status(config: ConfigOpt = None) -> None:
    """The city's state now: the operations index per district and the open warnings by level."""
    from dashboard.services import Services

    rt = _runtime(config)
    index = Services(rt).engine().district_index()
    table = Table(
        title=f"{rt.settings.city.name} city-operations index (0–100) "
        f"at {_local(rt.settings, rt.clock.now())}"
    )
    for col in ("district", "index", "grade", "coverage", "worst domain"):
        table.add_column(col)
    for r in index.to_dict("records"):
        value = "—" if r["index"] != r["index"] else f"{r['index']:.0f}"
        table.add_row(
            str(r["name"] or r["district_code"]),
            value,
            str(r["grade_zh"]),
            f"{r['coverage']:.0%}",
            str(r["worst_domain"] or ""),
        )
    console.print(table)
    open_now = rt.warehouse.warnings(open_only=True, limit=100_000)
    counts = open_now.groupby("level").size().to_dict() if len(open_now) else {}
    console.print(
        "open warnings: " + ", ".join(f"{LEVEL_STYLE[lv][0]} {counts.get(lv, 0)}" for lv in (1, 2, 3, 4))
    )
    rt.warehouse.close()


@rules_app.command("check")
def rules_check(config: ConfigOpt = None) -> None:
    """Validate and layer the configured rule packs; list the rules in force."""
    from cityops.alerting import load_rule_pack

    settings = _load(config)
    pack = load_rule_pack(settings)
    table = Table(title=f"rule pack {pack.version}: {len(pack.rules)} rules")
    for col in ("id", "kind", "domain", "levels", "effective", "citation"):
        table.add_column(col, overflow="fold")
    for r in pack.rules:
        levels = ", ".join(r.levels) or (r.level or "")
        table.add_row(r.id, r.kind, r.domain, levels, str(r.effective), r.citation)
    console.print(table)


@rules_app.command("backtest")
def rules_backtest(
    from_: Annotated[str, typer.Option("--from", help="Start date/time (city timezone).")],
    to: Annotated[str, typer.Option("--to", help="End date/time (city timezone), exclusive.")],
    config: ConfigOpt = None,
    step: Annotated[
        str | None, typer.Option(help="Evaluation step, e.g. 5m (default warnings.backtest_step).")
    ] = None,
    events: Annotated[bool, typer.Option("--events", help="Also print every event in order.")] = False,
) -> None:
    """Replay history through the rule pack: per rule and level, how many warnings and when."""
    from cityops.alerting import backtest, load_rule_pack
    from cityops.base.values import parse_duration

    rt = _runtime(config)
    tz = rt.settings.city.timezone
    start, end = _parse_from(from_, tz), _parse_from(to, tz)
    if end <= start:
        raise ConfigError("--to must be after --from")
    pack = load_rule_pack(rt.settings, today=end.date())
    try:
        delta = parse_duration(step) if step else rt.settings.warnings.backtest_step
    except ValueError as exc:
        raise ConfigError(f"--step: {exc}") from None
    with _progress("back-test", transient=True) as progress:
        task = progress.add_task("", total=None)
        result = backtest(
            rt,
            pack,
            start,
            end,
            delta,
            on_step=lambda done, total: progress.update(task, completed=done, total=total),
        )
    table = Table(
        title=f"back-test {_local(rt.settings, start)} → {_local(rt.settings, end)}, step {delta}, "
        f"{result.ticks} ticks, pack {pack.version}"
    )
    for col in ("rule", "level", "warnings", "first", "last"):
        table.add_column(col)
    for rule, level, n, first, last in result.by_rule_and_level():
        table.add_row(rule, level, str(n), _local(rt.settings, first), _local(rt.settings, last))
    console.print(table)
    if events:
        for at, kind, rule, level, summary in result.events:
            console.print(
                f"{_local(rt.settings, at)}  {kind:<11} {level:<6} {rule:<32} {summary}", highlight=False
            )
    console.print(f"{len(result.events)} events; {result.open_at_end} warnings still open at the end")
    rt.warehouse.close()


@app.command()
def snapshot(
    date_: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Report day YYYY-MM-DD (its window ends at snapshots.cut_off "
            "that day). Default: the last complete day.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Parent folder of the day's folder (default <data_dir>/snapshots)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Render the daily warning snapshot of a day; exit 1 when it failed or is incomplete.

    Runs against a stopped server (DuckDB allows one writing process) or a copy of its database."""
    from datetime import date

    from dashboard.snapshot import last_complete_day, render_snapshot

    settings = _load(config)
    if date_ is None:
        day = last_complete_day(datetime.now(UTC), settings.city.timezone, settings.snapshots.cut_off_time)
    else:
        try:
            day = date.fromisoformat(date_)
        except ValueError:
            raise typer.BadParameter(f"{date_!r} is not a date YYYY-MM-DD", param_hint="--date") from None
        from dashboard.snapshot import snapshot_window

        window = snapshot_window(day, settings.city.timezone, settings.snapshots.cut_off_time)
        if window.end > datetime.now(UTC):
            raise CityopsError(
                f"the report of {day} covers the 24 h up to {window.local_end:%Y-%m-%d %H:%M} "
                f"({settings.city.timezone}), which has not ended yet",
                hint="give a day whose cut-off has passed (the default is the last complete day)",
            )
    from cityops.base.errors import DatabaseLockedError

    try:
        rt = _runtime(settings)
    except DatabaseLockedError as exc:
        raise DatabaseLockedError(
            exc.message,
            hint="the running server renders snapshots itself "
            "(snapshots.cron; admins re-render on /snapshots); "
            "for this command stop the server first, "
            "or copy the database file and point storage.database at the copy",
        ) from None
    try:
        result = render_snapshot(rt, day, out_dir=out, trigger="manual")
    finally:
        rt.warehouse.close()
    console.print(f"snapshot {day}: {result.directory}", highlight=False)
    table = Table(
        title=f"snapshot {day} ({result.summary.get('window', {}).get('start', '')} → "
        f"{result.summary.get('window', {}).get('end', '')})"
    )
    table.add_column("")
    table.add_column("", justify="right")
    for row in result.summary.get("headline", []):
        table.add_row(row["label"], row["value"])
    table.add_row("files", str(len(result.files)))
    table.add_row("seconds", f"{result.duration_s:.1f}")
    console.print(table)
    style = {"ok": "green", "partial": "yellow", "failed": "red"}[result.status]
    console.print(
        f"status: [{style}]{result.status}[/]" + (f" — {result.reason}" if result.reason else ""),
        highlight=False,
    )
    if result.status != "ok":
        raise typer.Exit(1)


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate a configuration file and summarise it."""
    settings = _load(config)
    extra = validate_deployment(settings)
    console.print(
        f"{settings.source_path}: valid — city {settings.city.name}, {len(settings.feeds)} feeds "
        f"({', '.join(settings.feeds)}){extra}, data in {settings.storage.data_dir}"
    )


def validate_deployment(settings: Any) -> str:
    """What `serve` would load besides the file itself: reference data, rule packs, map layers."""
    from cityops.alerting import load_rule_pack
    from dashboard.mapdata import load_base_layers
    from geo.boundaries import BoundaryFileError, load_districts, load_entity_catalogue

    try:
        if settings.city.districts is not None:
            load_districts(settings.city.districts)
        for path in settings.city.catalogues:
            load_entity_catalogue(path)
    except BoundaryFileError as exc:
        raise ConfigError(str(exc), hint="fix city.districts / city.catalogues") from None
    parts = []
    if settings.warnings.packs:
        pack = load_rule_pack(settings)
        parts.append(f", rule pack {pack.version} ({len(pack.rules)} rules)")
    layers = load_base_layers(settings)
    if layers:
        parts.append(f", {len(layers)} map layer(s)")
    return "".join(parts)


@config_app.command("options")
def config_options() -> None:
    """Every option with its type, default and help."""
    from cityops.base.settings import describe_options

    table = Table(title="configuration options")
    for col in ("key", "type", "default", "help"):
        table.add_column(col, overflow="fold")
    for row in describe_options():
        table.add_row(*row)
    console.print(table)


token_app = typer.Typer(help="Read-only, revocable tokens for wall screens.", no_args_is_help=True)
user_app = typer.Typer(
    help="Users who sign in (they are listed in the configuration's [auth] section).", no_args_is_help=True
)
app.add_typer(token_app, name="display-token")
app.add_typer(user_app, name="user")


def _tokens(config: str | None) -> Any:
    from cityops.base.auth import DisplayTokens

    return DisplayTokens(_load(config).storage.display_tokens_path)


@token_app.command("create")
def display_token_create(
    name: Annotated[str, typer.Argument(help="Which screen the token is for, e.g. 'wall-hall-1'.")],
    config: ConfigOpt = None,
    url: Annotated[
        str | None, typer.Option(help="Base URL of the dashboard as the screens reach it.")
    ] = None,
) -> None:
    """Create a display token; the secret is shown once. Works while the server runs."""
    settings = _load(config)
    from cityops.base.auth import DisplayTokens

    token, secret = DisplayTokens(settings.storage.display_tokens_path).create(name)
    base = (url or f"http://{settings.server.host}:{settings.server.port}").rstrip("/")
    console.print(f"display token {token.token_id} for {token.name!r} (shown only now; keep it like a key):")
    console.print(secret, highlight=False)
    console.print(f"open on the screen: {base}/wall?token={secret}", highlight=False)


@token_app.command("revoke")
def display_token_revoke(
    ref: Annotated[str, typer.Argument(help="Id or name of the token.")], config: ConfigOpt = None
) -> None:
    """Revoke a display token; its screen shows 'not authorised' at its next heartbeat (seconds)."""
    token = _tokens(config).revoke(ref)
    console.print(f"revoked display token {token.token_id} ({token.name})")


@token_app.command("list")
def display_token_list(config: ConfigOpt = None) -> None:
    """The display tokens, active and revoked (never the secrets)."""
    table = Table(title="display tokens")
    for col in ("id", "name", "created", "revoked"):
        table.add_column(col)
    for tok in _tokens(config).list():
        table.add_row(tok.token_id, tok.name, tok.created_at, tok.revoked_at or "")
    console.print(table)


@user_app.command("hash-password")
def user_hash_password(
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from standard input (scripts).")
    ] = False,
) -> None:
    """Print the hash of a password, for the password_hash of a user in the configuration's auth.users.

    The password itself is never stored.
    """
    from cityops.base.auth import hash_password

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise ConfigError("the password is empty", hint="give a non-empty password")
    console.print(hash_password(password), highlight=False)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("CITYOPS_LOG", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except CityopsError as exc:
        err_console.print(
            f"[red]error:[/] {exc.message}" + (f"\n  fix: {exc.hint}" if exc.hint else ""), highlight=False
        )
        sys.exit(2)
    except Exception as exc:  # a bug: still one line for the user; the traceback on request
        if os.environ.get("CITYOPS_DEBUG") == "1":
            raise
        err_console.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc}\n  fix: run again with CITYOPS_DEBUG=1 "
            "for the traceback, and report it",
            highlight=False,
        )
        sys.exit(3)
