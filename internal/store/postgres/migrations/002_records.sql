-- Everything else anchor keeps: the same records as the bbolt store, one table per kind. A
-- record's body is its JSON (the json type keeps the bytes anchor wrote and stays readable with
-- psql); the columns beside it are what anchor looks records up or orders them by. Times used
-- for ordering are Unix nanoseconds (bigint), as in bbolt's keys, so both backends order alike.

-- SEP-12 customers and their files, events and tombstones.
CREATE TABLE kyc_customers (
    id         text PRIMARY KEY,
    updated_ns bigint NOT NULL,
    in_review  boolean NOT NULL,
    body       json NOT NULL
);
CREATE INDEX kyc_customers_by_updated ON kyc_customers (updated_ns DESC, id DESC);
CREATE INDEX kyc_customers_in_review ON kyc_customers (updated_ns DESC, id DESC) WHERE in_review;

CREATE TABLE kyc_customer_keys (
    account text NOT NULL,
    memo    text NOT NULL,
    id      text NOT NULL,
    PRIMARY KEY (account, memo)
);

CREATE TABLE kyc_files (
    id          text PRIMARY KEY,
    customer_id text NOT NULL,
    account     text NOT NULL,
    memo        text NOT NULL,
    body        json NOT NULL,
    data        bytea
);
CREATE INDEX kyc_files_of_customer ON kyc_files (customer_id, id) WHERE customer_id <> '';
CREATE INDEX kyc_files_pending ON kyc_files (account, memo, id) WHERE customer_id = '';

-- File bytes stored per G... account; the row '*' counts everyone's.
CREATE TABLE kyc_bytes (
    account text PRIMARY KEY,
    bytes   bigint NOT NULL
);

CREATE TABLE kyc_events (
    seq         bigserial PRIMARY KEY,
    customer_id text NOT NULL,
    body        json NOT NULL
);
CREATE INDEX kyc_events_of_customer ON kyc_events (customer_id, seq);

CREATE TABLE kyc_tombstones (
    account     text NOT NULL,
    memo        text NOT NULL,
    customer_id text NOT NULL,
    body        json NOT NULL,
    PRIMARY KEY (account, memo)
);
CREATE INDEX kyc_tombstones_by_customer ON kyc_tombstones (customer_id);

-- Owners whose KYC changed, for the transactions waiting for it (mark: the change's time).
CREATE TABLE kyc_changed (
    account text NOT NULL,
    memo    text NOT NULL,
    mark    bytea NOT NULL,
    PRIMARY KEY (account, memo)
);

-- SEP-6 (and SEP-24) transactions.
CREATE TABLE transfers (
    id           text PRIMARY KEY,
    account      text NOT NULL,
    memo         text NOT NULL,
    base_account text NOT NULL,
    started_ns   bigint NOT NULL,
    open         boolean NOT NULL,
    expires_ns   bigint,             -- set while the user's action can expire
    kyc_wait     boolean NOT NULL,   -- pending_customer_info_update
    body         json NOT NULL
);
CREATE INDEX transfers_by_owner ON transfers (account, memo, started_ns DESC, id DESC);
CREATE INDEX transfers_by_time ON transfers (started_ns DESC, id DESC);
CREATE INDEX transfers_open ON transfers (base_account) WHERE open;
CREATE INDEX transfers_expiry ON transfers (expires_ns, id) WHERE expires_ns IS NOT NULL;
CREATE INDEX transfers_kyc_wait ON transfers (account, memo, id) WHERE kyc_wait;

CREATE TABLE transfer_stellar_ids (
    hash text PRIMARY KEY,
    id   text NOT NULL
);
CREATE TABLE transfer_external_ids (
    ref text PRIMARY KEY,
    id  text NOT NULL
);
-- References and withdrawal memos: unique by constraint, whichever replica reserves them.
CREATE TABLE transfer_memos (
    namespace text NOT NULL,
    memo      text NOT NULL,
    id        text NOT NULL,
    PRIMARY KEY (namespace, memo)
);

-- Wallet callbacks (SEP-6 and SEP-12), claimed by one replica at a time.
CREATE TABLE callbacks (
    kind          text NOT NULL,
    id            text NOT NULL,
    due_ns        bigint NOT NULL,
    claimed_until bigint NOT NULL DEFAULT 0,
    body          json NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX callbacks_due ON callbacks (due_ns);

-- Treasury: on-chain actions, payment cursors, unmatched payments, two-person proposals.
CREATE TABLE treasury_ops (
    id   text PRIMARY KEY,
    body json NOT NULL
);
CREATE TABLE treasury_cursors (
    account text PRIMARY KEY,
    cursor  text NOT NULL
);
CREATE TABLE treasury_unmatched (
    account text NOT NULL,
    token   text NOT NULL,
    at_ns   bigint NOT NULL,
    body    json NOT NULL,
    PRIMARY KEY (account, token)
);
CREATE INDEX treasury_unmatched_by_token ON treasury_unmatched (token);
CREATE INDEX treasury_unmatched_by_time ON treasury_unmatched (at_ns DESC, account DESC, token DESC);
CREATE TABLE treasury_proposals (
    id          text PRIMARY KEY,
    proposed_ns bigint NOT NULL,
    body        json NOT NULL
);
