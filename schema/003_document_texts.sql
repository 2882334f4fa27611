-- focus job queue, schema version 3: the text of each document is kept in the database from
-- submission on, so that workers never open a path named by whoever submitted the job (the file
-- may have changed, moved, or be unreadable or forbidden to the worker's user).

-- One row per document (deduplicated with it by the SHA-256 of the text). Documents registered
-- before this version have no row until the same text is submitted again.
CREATE TABLE document_texts (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    text        TEXT    NOT NULL
) STRICT;
