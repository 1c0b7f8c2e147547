-- Migration 002: the question archive (命题档案), an item bank that grows over the years.
--
-- bank_items          one row per distinct item (content + metadata), however often it is used;
-- bank_item_knowledge its knowledge points;
-- bank_administrations one row per use of a bank item on a paper (paper × item label), with the
--                     statistics of that administration (score rate, D, upper/lower groups);
-- bank_admin_options  per administration × chosen answer: counts and shares (all, upper, lower);
-- bank_admin_groups   per administration × group (grade band A-D, gender, ownership, locality);
-- bank_notes          error-cause notes (出错原因分析) with teaching advice, append-only versions.
--
-- There are no foreign keys to items/papers: a re-imported specification table replaces the
-- paper's item rows (new item_id), and the archive must neither block that nor lose its history.
-- An administration is identified by (paper_id, item_label) and re-archiving refreshes it.
-- Fingerprints (analytics.archive): stem_fingerprint = hash of subject + normalised stem text;
-- meta_fingerprint = hash of subject, grade, label, type, key, knowledge points, max score.
-- Uniqueness of stem_fingerprint is enforced by analytics.archive (DuckDB updates of indexed
-- columns inside a transaction are delete+insert and can trip a UNIQUE index).

CREATE SEQUENCE bank_item_id_seq START 1;
CREATE TABLE bank_items (
    bank_item_id        INTEGER PRIMARY KEY DEFAULT nextval('bank_item_id_seq'),
    stem_fingerprint    VARCHAR,
    meta_fingerprint    VARCHAR NOT NULL,
    subject             VARCHAR NOT NULL,
    grade               INTEGER CHECK (grade BETWEEN 1 AND 12),
    item_type           VARCHAR NOT NULL
                        CHECK (item_type IN ('single', 'multiple', 'true_false', 'fill',
                                             'constructed')),
    label               VARCHAR,                 -- as printed where it first appeared
    max_score           DOUBLE NOT NULL CHECK (max_score > 0),
    answer_key          VARCHAR,
    options             VARCHAR,                 -- letters offered, e.g. 'ABCD'
    option_texts        VARCHAR,                 -- JSON object: letter -> option text
    stem_text           VARCHAR,                 -- 题干
    solution_notes      VARCHAR,                 -- 解析 / 评分说明
    image_paths         VARCHAR,                 -- JSON array of paths (relative to the archive)
    cognitive_level     VARCHAR,
    intended_difficulty DOUBLE CHECK (intended_difficulty BETWEEN 0 AND 1),  -- 预估难度 (score rate)
    source_exam         VARCHAR,                 -- the exam in which it first appeared
    created_at          TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at          TIMESTAMP
);

CREATE TABLE bank_item_knowledge (
    bank_item_id    INTEGER NOT NULL,
    knowledge_point VARCHAR NOT NULL,
    PRIMARY KEY (bank_item_id, knowledge_point)
);

CREATE TABLE bank_administrations (
    paper_id        INTEGER NOT NULL,
    item_label      VARCHAR NOT NULL,
    bank_item_id    INTEGER NOT NULL,
    item_id         INTEGER,                     -- items.item_id when recorded (informational)
    item_number     INTEGER,
    exam            VARCHAR NOT NULL,
    exam_date       DATE,
    subject         VARCHAR NOT NULL,
    grade           INTEGER,
    max_score       DOUBLE NOT NULL,
    n               INTEGER NOT NULL,            -- students present
    mean_score      DOUBLE,
    score_rate      DOUBLE,                      -- 得分率 / 答对率 (difficulty P)
    omit_rate       DOUBLE,                      -- share not answered (NULL score)
    n_group         INTEGER,                     -- size of each of the upper / lower 27 % groups
    upper_rate      DOUBLE,
    lower_rate      DOUBLE,
    discrimination  DOUBLE,                      -- D = upper_rate - lower_rate
    link_method     VARCHAR NOT NULL
                    CHECK (link_method IN ('new', 'stem', 'metadata', 'manual')),
    recorded_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (paper_id, item_label)
);

CREATE TABLE bank_admin_options (
    paper_id     INTEGER NOT NULL,
    item_label   VARCHAR NOT NULL,
    option       VARCHAR NOT NULL,               -- the answer as chosen ('C', 'ABD', ...)
    is_key       BOOLEAN NOT NULL,
    n            INTEGER NOT NULL,
    share        DOUBLE NOT NULL,                -- of all present students
    upper_share  DOUBLE,
    lower_share  DOUBLE,
    PRIMARY KEY (paper_id, item_label, option)
);

CREATE TABLE bank_admin_groups (
    paper_id     INTEGER NOT NULL,
    item_label   VARCHAR NOT NULL,
    group_kind   VARCHAR NOT NULL CHECK (group_kind IN ('band', 'gender', 'ownership', 'locality')),
    group_value  VARCHAR NOT NULL,               -- A-D; M/F; public/private; urban/rural
    n            INTEGER NOT NULL,
    score_rate   DOUBLE,
    PRIMARY KEY (paper_id, item_label, group_kind, group_value)
);

CREATE SEQUENCE bank_note_id_seq START 1;
CREATE TABLE bank_notes (
    note_id      INTEGER PRIMARY KEY DEFAULT nextval('bank_note_id_seq'),
    bank_item_id INTEGER NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    author       VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    cause_text   VARCHAR NOT NULL,               -- 出错原因分析
    advice       VARCHAR,                        -- 教学建议
    UNIQUE (bank_item_id, version)
);
