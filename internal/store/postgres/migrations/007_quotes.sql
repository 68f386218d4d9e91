-- SEP-38 firm quotes.
CREATE TABLE quotes (
    id   text PRIMARY KEY,
    body json NOT NULL
);
