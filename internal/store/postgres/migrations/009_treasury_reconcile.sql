-- The last treasury reconcile (treasury.ReconcileRun), under the name 'last': every replica's
-- metrics read it, so they agree, and a reconcile run straight against the database counts.
CREATE TABLE treasury_reconcile (
    name text PRIMARY KEY,
    body jsonb NOT NULL
);
