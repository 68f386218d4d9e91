-- Business events (package events) and their webhook deliveries. An event's body holds
-- neither its id nor its seq (the columns do); xid orders the events in commit order for
-- readers that follow the log (EventsAfter).
CREATE TABLE event_subjects (
    subject text PRIMARY KEY,
    seq     integer NOT NULL
);
CREATE TABLE events (
    id    bigserial PRIMARY KEY,
    xid   xid8 NOT NULL DEFAULT pg_current_xact_id(),
    subject text NOT NULL,
    seq   integer NOT NULL,
    at_ns bigint NOT NULL,
    body  json NOT NULL
);
CREATE INDEX events_by_position ON events (xid, id);
CREATE INDEX events_by_time ON events (at_ns);
CREATE TABLE event_deliveries (
    endpoint text NOT NULL,
    subject  text NOT NULL,
    seq      integer NOT NULL,
    event_id bigint NOT NULL,
    due_ns   bigint NOT NULL,
    failed   boolean NOT NULL DEFAULT false,
    claim_ns bigint NOT NULL DEFAULT 0,
    body     json NOT NULL,
    PRIMARY KEY (endpoint, subject, seq)
);
CREATE INDEX event_deliveries_by_event ON event_deliveries (event_id);
