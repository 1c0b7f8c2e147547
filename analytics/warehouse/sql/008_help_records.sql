-- Migration 008: help records (帮教记录) of the student archive (issue 17).
--
-- help_records: what a principal or teacher did for a student (date, teacher, what was done),
-- append-only: editing a record adds a version with the same record_id; withdrawing one adds a
-- version with withdrawn = true. The current record is the highest version; earlier versions
-- are never changed or deleted (the history a school keeps).
CREATE SEQUENCE IF NOT EXISTS help_record_ids START 1;
CREATE TABLE IF NOT EXISTS help_records (
    record_id    BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    student_key  INTEGER NOT NULL,
    help_date    DATE NOT NULL,
    teacher      VARCHAR NOT NULL,
    action       VARCHAR NOT NULL,
    subject      VARCHAR,
    author       VARCHAR NOT NULL,             -- who wrote this version (the signed-in user)
    withdrawn    BOOLEAN NOT NULL DEFAULT false,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (record_id, version)
);
