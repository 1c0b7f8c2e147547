-- Migration 009: IRT item parameters of every administration, kept beside the question archive.
--
-- irt_parameters: one row per paper × item × calibration (the model asked for and the rule for
-- missing answers, e.g. '2pl/missing'), written by analytics.irt.save_irt_parameters
-- (`eqm irt items --save`). Parameterised as R's mirt reports them: logistic without the 1.702,
-- P = 1/(1 + exp(-a(theta - b))), theta ~ N(0, 1) in the paper's own population unless
-- scale_paper_id names the base paper whose scale they were linked to (then a/A, A*b + B with
-- link_a = A, link_b = B). thresholds / threshold_ses: JSON arrays b_1 ... of polytomous items
-- (GRM thresholds or GPCM steps). bank_item_id: the archive's item when the paper is archived
-- (bank_administrations), so an item's parameters can be followed across years.
-- Like the archive, no foreign keys: re-importing a paper must not be blocked by its history.
CREATE TABLE irt_parameters (
    paper_id        INTEGER NOT NULL,
    item_label      VARCHAR NOT NULL,
    calibration     VARCHAR NOT NULL,
    item_number     INTEGER,
    bank_item_id    INTEGER,
    model           VARCHAR NOT NULL CHECK (model IN ('rasch', '2pl', '3pl', 'grm', 'gpcm')),
    n_cat           INTEGER NOT NULL CHECK (n_cat >= 2),
    n               INTEGER NOT NULL,
    a               DOUBLE,
    b               DOUBLE,
    c               DOUBLE,
    thresholds      VARCHAR,
    a_se            DOUBLE,
    b_se            DOUBLE,
    c_se            DOUBLE,
    threshold_ses   VARCHAR,
    scale_paper_id  INTEGER,
    link_a          DOUBLE,
    link_b          DOUBLE,
    loglik          DOUBLE,
    recorded_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (paper_id, item_label, calibration)
);
