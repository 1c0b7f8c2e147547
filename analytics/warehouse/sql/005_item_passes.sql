-- The three reductions of a paper's responses that every item analysis, knowledge-point rate
-- and hotspot rolls up (analytics/item_sums.py: class_answer_pass_sql, kelley_pass_sql,
-- sorted_cross_sql), stored per paper. Derived tables: the importers rebuild them in the same
-- transaction whenever a paper's responses, results or students change
-- (analytics.item_sums.keep_item_passes_current). item_pass_state records what they were
-- computed from: the analyses use them only while the current responses and results still
-- give the same fingerprint (row counts and XOR of row hashes), the same Kelley share and pass
-- version; otherwise they reduce the responses themselves, so a stale table is never read.
-- Empty after this migration: a paper gets its stored passes at its next import (or
-- `eqm summaries refresh`); until then the analyses compute them (same results, slower).
CREATE TABLE item_pass_answers (
    paper_id    INTEGER NOT NULL,
    school_id   INTEGER,
    class_id    INTEGER,
    item_id     INTEGER NOT NULL,
    answer      VARCHAR,
    n           BIGINT NOT NULL,
    n_answered  BIGINT NOT NULL,
    sx          DOUBLE,
    sxx         DOUBLE,
    sxt         DOUBLE,
    st          DOUBLE,
    stt         DOUBLE
);
CREATE TABLE item_pass_kelley (
    paper_id    INTEGER NOT NULL,
    district_id INTEGER,
    school_id   INTEGER,
    item_id     INTEGER NOT NULL,
    answer      VARCHAR,
    gs          INTEGER NOT NULL,
    gd          INTEGER NOT NULL,
    n           BIGINT NOT NULL,
    sx          DOUBLE NOT NULL
);
CREATE TABLE item_pass_sorted (
    paper_id    INTEGER NOT NULL,
    uid         INTEGER,
    item_id     INTEGER NOT NULL,
    sxr_sorted  DOUBLE
);
CREATE TABLE item_pass_state (
    paper_id     INTEGER PRIMARY KEY,
    version      INTEGER NOT NULL,
    share        DOUBLE NOT NULL,
    n_responses  BIGINT NOT NULL,
    h_responses  UBIGINT,
    n_results    BIGINT NOT NULL,
    h_results    UBIGINT,
    refreshed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
