-- Migration 001: the core warehouse.
-- district -> zone (片区) -> school -> class -> student; exams -> papers (exam x subject x grade)
-- -> items (双向细目表); responses (student x item); paper_results (student x paper: status, total);
-- surveys and answers; the import log; the demo's planted truths.
-- Codes are stored in English (public/private, urban/rural, M/F, local/nonlocal); the display
-- layer translates them. Ids are integers handed out by the importers (max + 1).
--
-- DuckDB notes that shaped this schema (measured with DuckDB 2.0, see analytics/importers):
-- * DuckDB runs an UPDATE of an indexed column (key, UNIQUE or FOREIGN KEY column) as
--   delete + insert, which fails once another table references the row. Columns that the
--   roster importer must be able to change on students and schools that already have results
--   (students.class_id, schools.zone_id) are therefore not declared as foreign keys; the
--   importers check them in SQL instead.
-- * The big long tables (responses, survey_answers: tens of millions of rows) carry no
--   PRIMARY KEY or FOREIGN KEY: at 8M rows a primary key made the insert 5x slower
--   (1.4 s -> 7.4 s), a replace 25x slower (1.5 s -> 40 s) and the file 11x larger (26 -> 300 MB).
--   Uniqueness of (paper, item, student) and (survey, student, question) and the references
--   are guaranteed by the importers, which validate in SQL before inserting.

CREATE TABLE districts (
    district_id INTEGER PRIMARY KEY,
    name        VARCHAR NOT NULL UNIQUE
);

CREATE TABLE zones (
    zone_id     INTEGER PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts (district_id),
    name        VARCHAR NOT NULL,
    UNIQUE (district_id, name)
);

CREATE TABLE schools (
    school_id   INTEGER PRIMARY KEY,
    zone_id     INTEGER,                            -- zones (zone_id); not a declared FK, see top
    code        VARCHAR UNIQUE,
    name        VARCHAR NOT NULL UNIQUE,
    ownership   VARCHAR CHECK (ownership IN ('public', 'private')),   -- 公办 / 民办
    locality    VARCHAR CHECK (locality IN ('urban', 'rural'))        -- 城区 / 乡镇
);

CREATE TABLE classes (
    class_id    INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools (school_id),
    grade       INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 12),
    name        VARCHAR NOT NULL,
    UNIQUE (school_id, grade, name)
);

CREATE TABLE students (
    student_key INTEGER PRIMARY KEY,                -- surrogate key used in joins
    student_id  VARCHAR NOT NULL UNIQUE,            -- 考号 / 学号 as the user knows it
    name        VARCHAR,
    gender      VARCHAR CHECK (gender IN ('M', 'F')),
    grade       INTEGER CHECK (grade BETWEEN 1 AND 12),
    school_id   INTEGER NOT NULL REFERENCES schools (school_id),
    class_id    INTEGER,                            -- classes (class_id); not a declared FK, see top
    hukou       VARCHAR CHECK (hukou IN ('local', 'nonlocal')),       -- 户籍 本地 / 外地
    ses         DOUBLE                                                -- socio-economic index
);

CREATE TABLE exams (
    exam_id     INTEGER PRIMARY KEY,
    name        VARCHAR NOT NULL UNIQUE,
    exam_date   DATE,
    term        VARCHAR,                            -- e.g. 2025-2026-2
    grade       INTEGER CHECK (grade BETWEEN 1 AND 12),  -- NULL when the exam spans grades
    level       VARCHAR CHECK (level IN ('district', 'city', 'national', 'school', 'other'))
);

CREATE TABLE papers (
    paper_id          INTEGER PRIMARY KEY,
    exam_id           INTEGER NOT NULL REFERENCES exams (exam_id),
    subject           VARCHAR NOT NULL,
    grade             INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 12),
    full_score        DOUBLE NOT NULL CHECK (full_score > 0),
    -- Lines in points; NULL means the default share of full_score (85% / 60% / 40%).
    excellent_line    DOUBLE CHECK (excellent_line >= 0),
    pass_line         DOUBLE CHECK (pass_line >= 0),
    low_line          DOUBLE CHECK (low_line >= 0),
    borderline_buffer DOUBLE CHECK (borderline_buffer >= 0),         -- 临界生 buffer, points
    -- Lower bounds of the grade bands of 等级评价 (A >= band_a > B >= band_b > C >= band_c > D).
    band_a            DOUBLE CHECK (band_a >= 0),
    band_b            DOUBLE CHECK (band_b >= 0),
    band_c            DOUBLE CHECK (band_c >= 0),
    has_items         BOOLEAN NOT NULL DEFAULT false,  -- true once a specification table is loaded
    UNIQUE (exam_id, subject, grade)
);

CREATE TABLE items (
    item_id         INTEGER PRIMARY KEY,
    paper_id        INTEGER NOT NULL REFERENCES papers (paper_id),
    number          INTEGER NOT NULL CHECK (number >= 1),   -- position on the paper, 1..k
    label           VARCHAR NOT NULL,                       -- as printed: 3, 21(1), ...
    item_type       VARCHAR NOT NULL
                    CHECK (item_type IN ('single', 'multiple', 'true_false', 'fill', 'constructed')),
    max_score       DOUBLE NOT NULL CHECK (max_score > 0),
    answer_key      VARCHAR,                                -- e.g. 'B', 'ACD'; NULL for open items
    options         VARCHAR,                                -- the letters offered, e.g. 'ABCD'
    partial_score   DOUBLE CHECK (partial_score >= 0),      -- multiple choice: score for a correct proper subset
    cognitive_level VARCHAR,                                -- 了解 / 理解 / 掌握 / 运用 ...
    UNIQUE (paper_id, number),
    UNIQUE (paper_id, label)
);

-- item_id is not a declared FK: DuckDB rejects deleting items whose knowledge rows were deleted
-- earlier in the same transaction (a re-imported specification table); the importer keeps it.
CREATE TABLE item_knowledge (
    item_id         INTEGER NOT NULL,                   -- items (item_id)
    knowledge_point VARCHAR NOT NULL,
    PRIMARY KEY (item_id, knowledge_point)
);

-- One row per student x paper: whether they sat it and their total.
CREATE TABLE paper_results (
    paper_id    INTEGER NOT NULL REFERENCES papers (paper_id),
    student_key INTEGER NOT NULL REFERENCES students (student_key),
    status      VARCHAR NOT NULL CHECK (status IN ('present', 'absent', 'void')),  -- 缺考 absent, 作弊 void
    total       DOUBLE CHECK (total >= 0),          -- NULL unless present
    CHECK ((status = 'present') = (total IS NOT NULL)),
    PRIMARY KEY (paper_id, student_key)
);

-- One row per student x item, for students present. score NULL = not answered (kept apart from 0).
-- Unique on (paper_id, item_id, student_key) and 0 <= score <= items.max_score: guaranteed by the
-- importers (no declared key, see top).
CREATE TABLE responses (
    paper_id    INTEGER NOT NULL,
    item_id     INTEGER NOT NULL,
    student_key INTEGER NOT NULL,
    score       DOUBLE CHECK (score >= 0),
    answer      VARCHAR                              -- chosen option(s) for objective items
);

CREATE TABLE surveys (
    survey_id   INTEGER PRIMARY KEY,
    name        VARCHAR NOT NULL UNIQUE,
    grade       INTEGER CHECK (grade BETWEEN 1 AND 12),
    survey_date DATE
);

-- Long format: one row per student x question.
-- Unique on (survey_id, student_key, question): guaranteed by the importer (no declared key).
CREATE TABLE survey_answers (
    survey_id   INTEGER NOT NULL,                   -- surveys (survey_id)
    student_key INTEGER NOT NULL,                   -- students (student_key)
    question    VARCHAR NOT NULL,
    value_text  VARCHAR,
    value_num   DOUBLE
);

CREATE SEQUENCE import_id_seq START 1;
CREATE TABLE import_log (
    import_id   INTEGER PRIMARY KEY DEFAULT nextval('import_id_seq'),
    kind        VARCHAR NOT NULL CHECK (kind IN ('paper', 'scores', 'totals', 'survey', 'roster')),
    file_name   VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    target      VARCHAR,                             -- e.g. 'exam=...; subject=...'
    rows        INTEGER,
    started_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at TIMESTAMP,
    outcome     VARCHAR NOT NULL CHECK (outcome IN ('ok', 'replaced', 'noop', 'rejected', 'failed')),
    message     VARCHAR
);

-- Truths planted by `eqm demo` so that tests and users can check that analyses find them.
CREATE TABLE demo_truths (
    kind            VARCHAR NOT NULL CHECK (kind IN
                    ('school_effect', 'class_effect', 'weak_knowledge_point', 'wrong_key',
                     'attractive_distractor', 'gender_gap', 'other')),
    exam            VARCHAR,
    subject         VARCHAR,
    grade           INTEGER,
    school          VARCHAR,
    class           VARCHAR,
    item_label      VARCHAR,
    knowledge_point VARCHAR,
    option          VARCHAR,
    value           DOUBLE,
    note            VARCHAR
);

-- The reporting tree flattened: one row per student with every level's id and name.
CREATE VIEW student_tree AS
SELECT s.student_key, s.student_id, s.name AS student_name, s.gender, s.grade, s.hukou, s.ses,
       c.class_id, c.name AS class_name,
       sc.school_id, sc.name AS school_name, sc.code AS school_code, sc.ownership, sc.locality,
       z.zone_id, z.name AS zone_name,
       d.district_id, d.name AS district_name
FROM students s
JOIN schools sc ON sc.school_id = s.school_id
LEFT JOIN classes c ON c.class_id = s.class_id
LEFT JOIN zones z ON z.zone_id = sc.zone_id
LEFT JOIN districts d ON d.district_id = z.district_id;
