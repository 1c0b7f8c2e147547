-- Migration 007: one record of what every derived table was computed from.
--
-- derived_state: per family of derived tables (item_passes: the item_pass_* tables of 005;
-- knowledge_results: 004; summaries: the summary_<name> tables of 003, one part per table name)
-- and paper, the fingerprint of the rows it was computed from — `component:rows:hash|…` over
-- the sources the family reads (row counts and XOR of row hashes) and its extras — and the
-- family's code version (analytics/reduce/derived.py). The analyses read a derived table only
-- while the recorded fingerprint and version equal today's; analytics.reduce.derived.
-- keep_derived_current rebuilds the others (importers, `eqm init`, the summaries refresh).
--
-- The stored item passes keep their state: item_pass_state's fingerprint is carried over in the
-- new format (the same row counts and hashes), then the table goes. knowledge_results and the
-- summary tables had no fingerprint: they are rebuilt once (`eqm init`, the next import, the
-- next summaries refresh); until then the analyses reduce the responses (same results).
CREATE TABLE derived_state (
    family       VARCHAR NOT NULL,
    paper_id     INTEGER NOT NULL,
    part         VARCHAR NOT NULL DEFAULT '',
    version      INTEGER NOT NULL,
    fingerprint  VARCHAR NOT NULL,
    refreshed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (family, paper_id, part)
);
INSERT INTO derived_state (family, paper_id, part, version, fingerprint, refreshed_at)
SELECT 'item_passes', paper_id, '', version,
       'responses:' || n_responses || ':' || coalesce(CAST(h_responses AS VARCHAR), '')
       || '|results:' || n_results || ':' || coalesce(CAST(h_results AS VARCHAR), '')
       || '|share:' || CAST(share AS VARCHAR),
       refreshed_at
FROM item_pass_state;
DROP TABLE item_pass_state;
