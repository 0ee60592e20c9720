"""Versioned schema migrations of the warehouse, applied in order, each once, each in a transaction.

Append new migrations at the end; never edit one that has shipped. Times are UTC ``TIMESTAMP``s
(naive, UTC by convention); coordinates are WGS-84 longitude/latitude; geometries are GeoJSON text.

Observation tables carry no PRIMARY KEY constraint on purpose: DuckDB's ART index on a table of
hundreds of millions of rows costs gigabytes of memory and slows every insert, while the write path
(a single writer, MERGE-style update-then-anti-join-insert on the key inside one transaction) keeps the
keys unique anyway; ``tests/integration`` checks that invariant.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "entities, observations, incidents, ingest bookkeeping",
        """
        CREATE TABLE district (
            code        TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            name_en     TEXT,
            geometry    TEXT NOT NULL,
            lon         DOUBLE,
            lat         DOUBLE
        );
        CREATE TABLE entity (
            entity_id            TEXT PRIMARY KEY,
            kind                 TEXT NOT NULL,
            name                 TEXT,
            name_en              TEXT,
            department           TEXT,
            district_code        TEXT,
            lon                  DOUBLE,
            lat                  DOUBLE,
            geometry             TEXT,
            road_name            TEXT,
            road_class           TEXT,
            length_m             DOUBLE,
            free_flow_kmh        DOUBLE,
            lanes                INTEGER,
            river                TEXT,
            basin                TEXT,
            station_type         TEXT,
            warning_level_m      DOUBLE,
            guaranteed_level_m   DOUBLE,
            flood_limit_level_m  DOUBLE,
            historical_level_m   DOUBLE,
            normal_level_m       DOUBLE,
            props                JSON,
            source               TEXT NOT NULL,
            updated_at           TIMESTAMP NOT NULL
        );
        CREATE TABLE obs_traffic (
            entity_id      TEXT NOT NULL,
            ts             TIMESTAMP NOT NULL,
            speed_kmh      DOUBLE,
            volume_vph     DOUBLE,
            occupancy_pct  DOUBLE,
            run_id         TEXT NOT NULL
        );
        CREATE TABLE obs_air (
            entity_id  TEXT NOT NULL,
            ts         TIMESTAMP NOT NULL,
            so2        DOUBLE,
            no2        DOUBLE,
            pm10       DOUBLE,
            pm25       DOUBLE,
            co         DOUBLE,
            o3         DOUBLE,
            run_id     TEXT NOT NULL
        );
        CREATE TABLE obs_water (
            entity_id      TEXT NOT NULL,
            ts             TIMESTAMP NOT NULL,
            level_m        DOUBLE,
            discharge_m3s  DOUBLE,
            run_id         TEXT NOT NULL
        );
        CREATE TABLE obs_rain (
            entity_id  TEXT NOT NULL,
            ts         TIMESTAMP NOT NULL,
            rain_mm    DOUBLE,
            run_id     TEXT NOT NULL
        );
        CREATE TABLE obs_metric (
            domain     TEXT NOT NULL,
            entity_id  TEXT NOT NULL,
            ts         TIMESTAMP NOT NULL,
            metric     TEXT NOT NULL,
            value      DOUBLE,
            run_id     TEXT NOT NULL
        );
        CREATE TABLE incident (
            incident_id           TEXT NOT NULL,
            type                  TEXT NOT NULL,
            severity              INTEGER NOT NULL,
            status                TEXT NOT NULL,
            reported_at           TIMESTAMP NOT NULL,
            dispatched_at         TIMESTAMP,
            closed_at             TIMESTAMP,
            lon                   DOUBLE,
            lat                   DOUBLE,
            district_code         TEXT,
            description           TEXT,
            reporting_department  TEXT,
            feed                  TEXT,
            run_id                TEXT NOT NULL
        );
        CREATE TABLE ingest_run (
            run_id            TEXT PRIMARY KEY,
            feed              TEXT NOT NULL,
            trigger           TEXT NOT NULL,
            status            TEXT NOT NULL,
            started_at        TIMESTAMP NOT NULL,
            finished_at       TIMESTAMP,
            duration_s        DOUBLE,
            attempts          INTEGER NOT NULL DEFAULT 1,
            rows_fetched      BIGINT NOT NULL DEFAULT 0,
            rows_inserted     BIGINT NOT NULL DEFAULT 0,
            rows_updated      BIGINT NOT NULL DEFAULT 0,
            rows_unchanged    BIGINT NOT NULL DEFAULT 0,
            rows_rejected     BIGINT NOT NULL DEFAULT 0,
            rows_duplicate    BIGINT NOT NULL DEFAULT 0,
            error             TEXT,
            error_kind        TEXT,
            notes             TEXT,
            watermark_before  TEXT,
            watermark_after   TEXT,
            data_from         TIMESTAMP,
            data_to           TIMESTAMP,
            raw_path          TEXT,
            replay_of         TEXT
        );
        CREATE TABLE quarantine (
            run_id          TEXT NOT NULL,
            feed            TEXT NOT NULL,
            row_number      BIGINT,
            reason          TEXT NOT NULL,
            raw_row         JSON,
            quarantined_at  TIMESTAMP NOT NULL
        );
        CREATE TABLE feed_state (
            feed                  TEXT PRIMARY KEY,
            watermark             TEXT,
            last_run_id           TEXT,
            last_run_at           TIMESTAMP,
            last_success_at       TIMESTAMP,
            last_failure_at       TIMESTAMP,
            last_error            TEXT,
            last_data_at          TIMESTAMP,
            consecutive_failures  INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ingest_run_feed ON ingest_run (feed, started_at);
        CREATE INDEX quarantine_run ON quarantine (run_id);
        """,
    ),
    (
        2,
        "rollups (hourly, daily) and the latest state, maintained at ingest",
        """
        -- One long-format rollup for every observation domain (built-in and configured), so that the
        -- wall, the explorer and the warnings read aggregates and latest values, never raw history.
        CREATE TABLE rollup_hourly (
            domain     TEXT NOT NULL,
            entity_id  TEXT NOT NULL,
            metric     TEXT NOT NULL,
            hour       TIMESTAMP NOT NULL,   -- UTC, start of the hour
            n          INTEGER NOT NULL,
            sum        DOUBLE,
            min        DOUBLE,
            max        DOUBLE,
            last_ts    TIMESTAMP,
            last       DOUBLE
        );
        CREATE TABLE rollup_daily (
            domain     TEXT NOT NULL,
            entity_id  TEXT NOT NULL,
            metric     TEXT NOT NULL,
            day        DATE NOT NULL,        -- calendar day in the city's timezone
            n          INTEGER NOT NULL,
            sum        DOUBLE,
            min        DOUBLE,
            max        DOUBLE
        );
        CREATE TABLE latest_obs (
            domain     TEXT NOT NULL,
            entity_id  TEXT NOT NULL,
            metric     TEXT NOT NULL,
            ts         TIMESTAMP NOT NULL,
            value      DOUBLE,
            PRIMARY KEY (domain, entity_id, metric)
        );
        CREATE TABLE warehouse_meta (
            key    TEXT PRIMARY KEY,
            value  TEXT
        );
        """,
    ),
    (
        3,
        "warnings, their audit trail and notification deliveries",
        """
        CREATE TABLE warning (
            warning_id         TEXT PRIMARY KEY,
            dedup_key          TEXT NOT NULL,
            rule_id            TEXT NOT NULL,
            rule_title         TEXT NOT NULL,
            kind               TEXT NOT NULL,
            domain             TEXT NOT NULL,
            pack_version       TEXT NOT NULL,
            state              TEXT NOT NULL,     -- pending | active | acknowledged | suppressed | resolved
            level              INTEGER NOT NULL,  -- 1 red … 4 blue
            peak_level         INTEGER,
            scope              TEXT NOT NULL,
            key                TEXT NOT NULL,
            entity_id          TEXT,
            name               TEXT,
            district_code      TEXT,
            basin              TEXT,
            condition_since    TIMESTAMP NOT NULL,
            created_at         TIMESTAMP NOT NULL,
            updated_at         TIMESTAMP NOT NULL,
            activated_at       TIMESTAMP,
            acknowledged_at    TIMESTAMP,
            acknowledged_by    TEXT,
            resolved_at        TIMESTAMP,
            clear_since        TIMESTAMP,
            last_reminder_at   TIMESTAMP,
            suppressed_from    TEXT,
            suppressed_reason  TEXT,
            value              DOUBLE,
            threshold          DOUBLE,
            summary            TEXT,
            evidence           JSON,
            data_ts            TIMESTAMP,
            assignee           TEXT
        );
        CREATE INDEX warning_open ON warning (state, dedup_key);
        CREATE TABLE warning_transition (
            warning_id  TEXT NOT NULL,
            dedup_key   TEXT NOT NULL,
            occurred_at TIMESTAMP NOT NULL,
            from_state  TEXT,
            to_state    TEXT NOT NULL,
            from_level  INTEGER,
            to_level    INTEGER,
            actor       TEXT NOT NULL,
            reason      TEXT NOT NULL,
            seq         BIGINT NOT NULL
        );
        CREATE INDEX warning_transition_warning ON warning_transition (warning_id);
        CREATE TABLE notification_delivery (
            target        TEXT NOT NULL,
            event         TEXT NOT NULL,
            warning_id    TEXT,
            attempts      INTEGER NOT NULL,
            status        TEXT NOT NULL,
            http_status   INTEGER,
            error         TEXT,
            started_at    TIMESTAMP NOT NULL,
            finished_at   TIMESTAMP NOT NULL,
            duration_s    DOUBLE
        );
        CREATE SEQUENCE warning_transition_seq;
        """,
    ),
    (
        4,
        "operators silence a warning for a period",
        """
        ALTER TABLE warning ADD COLUMN silenced_until TIMESTAMP;
        """,
    ),
    (
        5,
        "daily warning snapshots: one record per report day",
        """
        CREATE TABLE snapshot (
            day           DATE PRIMARY KEY,   -- the report day (its window ends at the cut-off of this date)
            status        TEXT NOT NULL,      -- ok | partial | failed
            reason        TEXT,
            trigger       TEXT NOT NULL,      -- manual | schedule | rerender
            rendered_at   TIMESTAMP NOT NULL,
            path          TEXT,
            pack_version  TEXT,
            files         INTEGER,
            warnings      INTEGER
        );
        """,
    ),
    (
        6,
        "notification outbox: messages written with the warning change, delivered at least once",
        """
        CREATE SEQUENCE notification_outbox_seq;
        CREATE TABLE notification_outbox (
            seq          BIGINT NOT NULL DEFAULT nextval('notification_outbox_seq'),  -- delivery order
            message_id   TEXT NOT NULL,       -- the idempotency key receivers dedupe on
            target       TEXT NOT NULL,
            event        TEXT NOT NULL,
            warning_id   TEXT,
            payload      JSON NOT NULL,       -- the notification, as cityops.notify serialises it
            status       TEXT NOT NULL,       -- pending | sending | delivered | failed
            attempts     INTEGER NOT NULL,    -- HTTP attempts so far, over every process
            claims       INTEGER NOT NULL,    -- times a notifier took it up (more than 1: redelivered)
            http_status  INTEGER,
            error        TEXT,
            enqueued_at  TIMESTAMP NOT NULL,
            claimed_at   TIMESTAMP,
            finished_at  TIMESTAMP,
            PRIMARY KEY (message_id, target)
        );
        CREATE INDEX notification_outbox_status ON notification_outbox (status);
        ALTER TABLE notification_delivery ADD COLUMN message_id TEXT;
        """,
    ),
    (
        7,
        "audit log: sign-ins, changes and administration, with actor, role, address and time",
        """
        CREATE TABLE audit_log (
            event_id    TEXT PRIMARY KEY,   -- uuid4 hex; a spooled event imported twice is kept once
            "at"        TIMESTAMP NOT NULL, -- quoted: AT is a keyword (AT TIME ZONE)
            action      TEXT NOT NULL,      -- family.verb, e.g. warning.acknowledge
            actor       TEXT NOT NULL,      -- sign-in name, screen name, typed name or OS user
            actor_kind  TEXT NOT NULL,      -- user | display | anonymous | cli | system
            role        TEXT,
            address     TEXT,               -- the client's address as the server saw it
            subject     TEXT NOT NULL,      -- what was acted on (warning id, run id, day, token, user)
            outcome     TEXT NOT NULL,      -- ok | refused | failed
            detail      JSON NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log ("at");
        """,
    ),
    (
        8,
        "warnings in English too: the rule's English title and the English summary",
        """
        ALTER TABLE warning ADD COLUMN rule_title_en TEXT;
        ALTER TABLE warning ADD COLUMN summary_en TEXT;
        """,
    ),
]
