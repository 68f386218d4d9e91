-- SEP-10: each challenge is exchanged for a token at most once, across every replica.
CREATE TABLE used_challenges (
    hash    bytea PRIMARY KEY,
    expires timestamptz NOT NULL
);
CREATE INDEX used_challenges_expires ON used_challenges (expires);

-- SEP-12 shared accounts: an account authenticates always with a memo or always without.
CREATE TABLE account_modes (
    account text PRIMARY KEY,
    shared  boolean NOT NULL
);
