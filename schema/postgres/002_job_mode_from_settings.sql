-- focus job queue on PostgreSQL, schema version 2 (SQLite's version 4): a job's mode is derived
-- from its settings. Settings written by focus (`mode_params`) carry their decoding mode at
-- `decoding.mode`; `jobs.mode` is set from it when a job is inserted and whenever its settings or
-- its mode change, so that the column the views group by can never disagree with the settings a
-- worker decodes. Settings without a decoding mode (written by other tools) keep the mode they
-- were submitted with.

CREATE FUNCTION jobs_mode_from_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_typeof(NEW.mode_params::jsonb -> 'decoding' -> 'mode') = 'string' THEN
        NEW.mode := NEW.mode_params::jsonb -> 'decoding' ->> 'mode';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER jobs_mode_from_settings BEFORE INSERT OR UPDATE OF mode_params, mode ON jobs
FOR EACH ROW EXECUTE FUNCTION jobs_mode_from_settings();

UPDATE jobs SET mode = mode_params::jsonb -> 'decoding' ->> 'mode'
WHERE jsonb_typeof(mode_params::jsonb -> 'decoding' -> 'mode') = 'string'
  AND mode <> mode_params::jsonb -> 'decoding' ->> 'mode';
