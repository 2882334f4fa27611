-- focus job queue, schema version 1.
-- Times are Unix epoch seconds (REAL); the views render them as UTC text.
-- JSON columns hold arrays or objects and are checked with json_valid.

-- MARK: documents

CREATE TABLE documents (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT    NOT NULL UNIQUE CHECK (length(sha256) = 64),
    path        TEXT    NOT NULL,
    byte_size   INTEGER NOT NULL CHECK (byte_size >= 0),
    token_count INTEGER CHECK (token_count IS NULL OR token_count >= 0),
    created_at  REAL    NOT NULL
) STRICT;

-- MARK: jobs

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    document_id      INTEGER NOT NULL REFERENCES documents(id) ON DELETE RESTRICT,
    question         TEXT    NOT NULL CHECK (length(question) > 0),
    model_dir        TEXT    NOT NULL,
    mode             TEXT    NOT NULL CHECK (length(mode) > 0),
    mode_params      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(mode_params)),
    priority         INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead', 'cancelled')),
    attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    idempotency_key  TEXT    UNIQUE,
    lease_owner      TEXT,
    lease_expires_at REAL,
    next_attempt_at  REAL    NOT NULL,
    last_error       TEXT,
    created_at       REAL    NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    -- A running job always has a lease; other states keep lease_owner as history.
    CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
) STRICT;

-- The claim scans this index in claim order and stops at the first eligible row:
-- no sort of the queue, and only queued rows are in it.
CREATE INDEX jobs_claim ON jobs (priority DESC, next_attempt_at, id)
    WHERE state = 'queued';

-- The same order restricted to one document, for claims that group jobs by document.
CREATE INDEX jobs_claim_by_document ON jobs (document_id, priority DESC, next_attempt_at, id)
    WHERE state = 'queued';

-- Expired leases are found by expiry time among running jobs only.
CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at)
    WHERE state = 'running';

CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- MARK: results and metrics

CREATE TABLE results (
    job_id           INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    answer           TEXT    NOT NULL,
    answer_token_ids TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(answer_token_ids)),
    created_at       REAL    NOT NULL
) STRICT;

CREATE INDEX results_created ON results (created_at);

CREATE TABLE job_metrics (
    job_id            INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    queue_wait_s      REAL,
    prefill_s         REAL,
    store_hit         INTEGER CHECK (store_hit IS NULL OR store_hit IN (0, 1)),
    kv_load_s         REAL,
    kv_load_bytes     INTEGER,
    decode_s          REAL,
    answer_tokens     INTEGER,
    tokens_per_s      REAL,
    nfe               INTEGER,
    steps             INTEGER,
    blocks_selected   INTEGER,
    blocks_total      INTEGER,
    attention_density REAL,
    peak_rss_bytes    INTEGER,
    model             TEXT NOT NULL,
    mode              TEXT NOT NULL,
    mode_params       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(mode_params))
) STRICT;

-- MARK: workers

CREATE TABLE workers (
    id         TEXT    PRIMARY KEY,
    pid        INTEGER NOT NULL,
    host       TEXT    NOT NULL,
    started_at REAL    NOT NULL,
    heartbeat  REAL    NOT NULL
) STRICT;

-- MARK: views for the sqlite3 prompt

-- One row per job: the question, its state, the answer and the key metrics.
CREATE VIEW job_summary AS
SELECT j.id                                        AS job_id,
       d.path                                      AS document,
       j.question                                  AS question,
       j.mode                                      AS mode,
       j.state                                     AS state,
       j.attempt                                   AS attempt,
       r.answer                                    AS answer,
       round(m.queue_wait_s, 3)                    AS queue_wait_s,
       round(m.prefill_s, 3)                       AS prefill_s,
       m.store_hit                                 AS store_hit,
       round(m.decode_s, 3)                        AS decode_s,
       m.answer_tokens                             AS answer_tokens,
       round(m.tokens_per_s, 2)                    AS tokens_per_s,
       m.nfe                                       AS nfe,
       round(m.attention_density, 4)               AS attention_density,
       j.last_error                                AS last_error,
       datetime(j.created_at, 'unixepoch')         AS created,
       datetime(j.finished_at, 'unixepoch')        AS finished
FROM jobs j
JOIN documents d ON d.id = j.document_id
LEFT JOIN results r ON r.job_id = j.id
LEFT JOIN job_metrics m ON m.job_id = j.id;

-- Finished jobs per UTC day and decoding mode.
CREATE VIEW throughput_by_day_mode AS
SELECT date(j.finished_at, 'unixepoch')            AS day,
       j.mode                                      AS mode,
       count(*)                                    AS jobs,
       sum(m.answer_tokens)                        AS answer_tokens,
       round(sum(m.prefill_s), 3)                  AS prefill_s,
       round(sum(m.decode_s), 3)                   AS decode_s,
       round(avg(m.tokens_per_s), 2)               AS avg_tokens_per_s,
       round(avg(m.attention_density), 4)          AS avg_attention_density
FROM jobs j
JOIN job_metrics m ON m.job_id = j.id
WHERE j.state = 'done'
GROUP BY day, j.mode
ORDER BY day, j.mode;

-- Number of jobs in every state, zero included.
CREATE VIEW queue_depth AS
WITH states(state, ord) AS (
    VALUES ('queued', 1), ('running', 2), ('done', 3),
           ('failed', 4), ('dead', 5), ('cancelled', 6)
)
SELECT s.state AS state, coalesce(c.jobs, 0) AS jobs
FROM states s
LEFT JOIN (SELECT state, count(*) AS jobs FROM jobs GROUP BY state) c ON c.state = s.state
ORDER BY s.ord;
