-- Updating a customer must not touch an index its neighbours' look-ups read: under
-- SERIALIZABLE, PostgreSQL tracks reads by index page, and rewriting the index entries of a
-- small table (every update of an indexed column does) made concurrent PUT /customer of
-- different customers abort each other. The order columns move to a table of their own, read
-- only by listings (outside serializable transactions), and customers are updated in place
-- (HOT: their primary key is untouched; fillfactor leaves room on the page).
CREATE TABLE kyc_customer_order (
    id         text PRIMARY KEY,
    updated_ns bigint NOT NULL,
    in_review  boolean NOT NULL
);
INSERT INTO kyc_customer_order (id, updated_ns, in_review) SELECT id, updated_ns, in_review FROM kyc_customers;
CREATE INDEX kyc_customer_order_by_updated ON kyc_customer_order (updated_ns DESC, id DESC);
CREATE INDEX kyc_customer_order_in_review ON kyc_customer_order (updated_ns DESC, id DESC) WHERE in_review;
DROP INDEX kyc_customers_by_updated;
DROP INDEX kyc_customers_in_review;
ALTER TABLE kyc_customers DROP COLUMN updated_ns, DROP COLUMN in_review;
ALTER TABLE kyc_customers SET (fillfactor = 70);
ALTER TABLE transfers SET (fillfactor = 70);
ALTER TABLE callbacks SET (fillfactor = 70);
