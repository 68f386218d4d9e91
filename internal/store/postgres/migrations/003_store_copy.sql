-- anchor store copy: which source a copy came from, and whether it finished (an interrupted
-- copy of the same source may be run again without --force).
CREATE TABLE store_copies (
    source      text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
