-- Migration 003: dashboard users (roles, hashed passwords) and the catalogue of precomputed
-- summary tables that the dashboards read (analytics/summaries.py creates the summary_* tables
-- themselves, whose columns follow the analysis functions they materialise).
--
-- role: officer (教研员, the whole district), principal (校长, one school), committee (命题组,
-- papers and the question archive), admin (users and imports).
-- password_hash: a standard KDF string, 'scrypt:N:r:p$salt$hex' (Werkzeug-compatible); never the
-- password. school_id is required for principals and only for them (no foreign key, so that a
-- re-import of the tree never fails on a user row; analytics.users checks it on insert).

CREATE TABLE users (
    username      VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    role          VARCHAR NOT NULL CHECK (role IN ('officer', 'principal', 'committee', 'admin')),
    school_id     INTEGER,
    display_name  VARCHAR,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    CHECK ((role = 'principal') = (school_id IS NOT NULL))
);

-- One row per materialised summary × paper: what analytics.summaries.refresh_summaries wrote.
CREATE TABLE summary_catalog (
    name          VARCHAR NOT NULL,        -- e.g. 'score_report_school'
    paper_id      INTEGER NOT NULL,
    rows          INTEGER NOT NULL,
    seconds       DOUBLE,
    refreshed_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (name, paper_id)
);
