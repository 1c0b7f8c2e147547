-- Per student × knowledge point of a paper: Σ of the student's item scores (an omission 0) on
-- the items tagged with the point, for every student with response rows. A derived table kept
-- by the importers (scores, specification table incl. rescoring) beside paper_results.total, so
-- that knowledge-point analyses read ten rows per student instead of forty; analyses check it
-- against the responses' item sums and fall back to the responses when it disagrees.
CREATE TABLE knowledge_results (
    paper_id        INTEGER NOT NULL,
    student_key     INTEGER NOT NULL,
    knowledge_point VARCHAR NOT NULL,
    score           DOUBLE NOT NULL
);
INSERT INTO knowledge_results (paper_id, student_key, knowledge_point, score)
SELECT r.paper_id, r.student_key, k.knowledge_point, sum(coalesce(r.score, 0))
FROM responses r JOIN item_knowledge k ON k.item_id = r.item_id
GROUP BY r.paper_id, r.student_key, k.knowledge_point;
