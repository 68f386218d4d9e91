package transfer

import "math/big"

// bigMul multiplies without overflow.
func bigMul(a, b int64) *big.Int { return new(big.Int).Mul(big.NewInt(a), big.NewInt(b)) }

// ceilDiv returns ceil(n / d) as int64 for non-negative n.
func ceilDiv(n *big.Int, d int64) int64 {
	q, r := new(big.Int).QuoRem(n, big.NewInt(d), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}
