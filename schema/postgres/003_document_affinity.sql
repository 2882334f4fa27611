-- focus job queue on PostgreSQL, schema version 3 (SQLite's version 5): document affinity. Each
-- worker keeps its documents' KV in a local store (a folder on its host); the queue records which
-- documents each store holds, so that a claim can prefer jobs whose document the claiming worker's
-- store already holds, and jobs wait a bounded time for such a worker.

-- The store a worker keeps documents in: `host:/absolute/path` (NULL: none, or recorded before
-- this version). Several workers of one host may share a store.
ALTER TABLE workers ADD COLUMN store_id text;

-- The worker's lease length: it beats its heartbeat at least once per third of it, so a worker
-- whose heartbeat is older than this is taken for gone (its holdings no longer keep jobs waiting).
ALTER TABLE workers ADD COLUMN lease_seconds double precision NOT NULL DEFAULT 300 CHECK (lease_seconds > 0);

CREATE INDEX workers_store ON workers (store_id) WHERE store_id IS NOT NULL;

-- One row per document a store holds. Written when a worker prefills (or finds) a document in its
-- store, removed when the store evicts it, and dropped for a store whose last worker died.
CREATE TABLE worker_documents (
    store_id    text   NOT NULL CHECK (length(store_id) > 0),
    document_id bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    recorded_at double precision NOT NULL,
    PRIMARY KEY (store_id, document_id)
);

-- Claims look up the stores holding a job's document.
CREATE INDEX worker_documents_document ON worker_documents (document_id);

-- One row per document held by a store: where, since when, and how many of the store's workers
-- are alive (heartbeat within their lease). Holdings of a store with no live worker do not keep
-- jobs waiting for it.
CREATE VIEW document_holders AS
SELECT h.document_id                                                              AS document_id,
       d.path                                                                     AS document,
       h.store_id                                                                 AS store,
       to_char(to_timestamp(h.recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS recorded,
       (SELECT count(*) FROM workers w
        WHERE w.store_id = h.store_id
          AND w.heartbeat + w.lease_seconds >= extract(epoch FROM clock_timestamp())) AS live_workers
FROM worker_documents h
JOIN documents d ON d.id = h.document_id;
