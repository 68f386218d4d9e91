#!/usr/bin/env bash
# The life of a deposit and a withdrawal, offline and without writing code: anchor's Horizon
# stand-in plays the network, `anchor dev wallet` plays the wallet app, and you play compliance,
# operations and treasury. Needs `anchor` on PATH (make build; export PATH=$PWD/bin:$PATH).
# PORT and HORIZON_PORT choose the ports (default 8000 and 8001).
set -euo pipefail
PORT=${PORT:-8000}
HORIZON_PORT=${HORIZON_PORT:-8001}
export ANCHOR_HORIZON_URL=http://127.0.0.1:$HORIZON_PORT
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT

anchor init --dir demo --home-domain "localhost:$PORT" --network testnet
cd demo
anchor dev horizon --listen "127.0.0.1:$HORIZON_PORT" --fund 2>>anchor.log &  # the network, the anchor's accounts funded
anchor serve --listen "127.0.0.1:$PORT" 2>>anchor.log &                        # the anchor (its log: demo/anchor.log)

# The wallet: a key and an account (friendbot), a SEP-10 session, a trustline, KYC (SEP-12).
anchor dev wallet login --domain "localhost:$PORT" --wait 30s
anchor dev wallet trust --asset USDX
CUSTOMER=$(anchor dev wallet kyc put -q --type sep6-withdraw --field first_name=Jane --field last_name=Doe \
  --field email_address=jane@example.com --field bank_account_number=13719713158835300 --field bank_number=121122676)

# Compliance reviews and approves.
anchor kyc show "$CUSTOMER"
anchor kyc approve "$CUSTOMER" --note "documents checked"

# A deposit: the wallet asks (SEP-6), the bank receives 100, treasury credits the tokens.
DEPOSIT=$(anchor dev wallet deposit -q --asset USDX --amount 100)
anchor deposit received "$DEPOSIT" --amount 100 --external-id WIRE-1
anchor credit "$DEPOSIT"
anchor dev wallet status "$DEPOSIT"                                # completed

# A withdrawal: the wallet pays 40 on-chain with the memo given; the server's watcher sees it.
WITHDRAWAL=$(anchor dev wallet withdraw -q --asset USDX --amount 40)
anchor dev wallet status "$WITHDRAWAL" --watch --until pending_anchor --timeout 1m
anchor withdraw paid "$WITHDRAWAL" --external-id WIRE-OUT-1        # the bank sent the dollars
anchor dev wallet status "$WITHDRAWAL"                             # completed

# Treasury burns what came back, and checks the books against the ledger.
anchor burn --withdrawals
anchor reconcile                                                   # exit 0: balanced
