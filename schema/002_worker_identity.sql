-- focus job queue, schema version 2: workers are identified precisely enough to tell, from
-- their host, whether they still run (a pid alone may have been reused after a crash).

-- The kernel's boot id (/proc/sys/kernel/random/boot_id) when the worker started; NULL for
-- workers recorded before this version or on systems without it.
ALTER TABLE workers ADD COLUMN boot_id TEXT;

-- The process start time in clock ticks after boot (field 22 of /proc/<pid>/stat); NULL as above.
ALTER TABLE workers ADD COLUMN start_ticks INTEGER CHECK (start_ticks IS NULL OR start_ticks >= 0);

-- Jobs are looked up by their lease owner when a dead worker's jobs are taken back.
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE state = 'running';
