-- The operator API's keys (only a hash of each secret) and the answers of its idempotent
-- calls, kept a day for retries.
CREATE TABLE api_keys (
    id   text PRIMARY KEY,
    body json NOT NULL
);
CREATE TABLE idempotency (
    scope      text NOT NULL,
    key        text NOT NULL,
    created_ns bigint NOT NULL,
    body       json NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_by_created ON idempotency (created_ns);
