-- Where each webhook's feed stands in the event log (package events): the position (xid, id)
-- of the last event it passed, and when it last moved. Deliveries are no longer written with
-- each event: event_deliveries keeps the failed ones (retries, dead letters) and those queued
-- behind them.
CREATE TABLE event_feeds (
    endpoint text PRIMARY KEY,
    xid      xid8 NOT NULL,
    id       bigint NOT NULL,
    at_ns    bigint NOT NULL
);
