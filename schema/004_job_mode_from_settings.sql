-- focus job queue, schema version 4: a job's mode is derived from its settings.
-- Settings written by focus (`mode_params`) carry their decoding mode at `$.decoding.mode`;
-- `jobs.mode` is set from it when a job is inserted and whenever its settings change, so that
-- the column the views group by can never disagree with the settings a worker decodes. Settings
-- without a decoding mode (written by other tools) keep the mode they were submitted with.

UPDATE jobs SET mode = json_extract(mode_params, '$.decoding.mode')
WHERE json_type(mode_params, '$.decoding.mode') = 'text'
  AND mode <> json_extract(mode_params, '$.decoding.mode');

CREATE TRIGGER jobs_mode_from_settings AFTER INSERT ON jobs
WHEN json_type(NEW.mode_params, '$.decoding.mode') = 'text'
 AND NEW.mode <> json_extract(NEW.mode_params, '$.decoding.mode')
BEGIN
    UPDATE jobs SET mode = json_extract(NEW.mode_params, '$.decoding.mode') WHERE id = NEW.id;
END;

CREATE TRIGGER jobs_mode_follows_settings AFTER UPDATE OF mode_params, mode ON jobs
WHEN json_type(NEW.mode_params, '$.decoding.mode') = 'text'
 AND NEW.mode <> json_extract(NEW.mode_params, '$.decoding.mode')
BEGIN
    UPDATE jobs SET mode = json_extract(NEW.mode_params, '$.decoding.mode') WHERE id = NEW.id;
END;
