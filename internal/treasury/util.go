package treasury

import (
	"encoding/base64"
	"time"

	"github.com/anchorkit/anchor/internal/transfer"
)

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// putMoved stores a transfer whose status the treasury changed and, in the same store
// transaction, queues its on_change_callback (SEP-6: the wallet hears of every status change).
func putMoved(trs transfer.Tx, tr *transfer.Transaction, now time.Time) error {
	if err := trs.Put(tr); err != nil {
		return err
	}
	if tr.OnChangeCallback == "" {
		return nil
	}
	return trs.EnqueueCallback(tr.ID, now)
}
