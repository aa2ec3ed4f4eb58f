package pki

import (
	"context"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"hash"
)

// pbkdf2CheckEvery is how many PBKDF2 iterations run between two looks at
// the context: a few milliseconds of CPU.
const pbkdf2CheckEvery = 4096

// pbkdf2Key is RFC 8018's PBKDF2 as crypto/pbkdf2.Key computes it, but it
// stops with ErrStopped (and ctx.Err()) once ctx is done: a pasted key
// may ask for maxPBKDF2Iterations, seconds of CPU that crypto/pbkdf2
// cannot interrupt when the administrator's session ends (issue 12 item
// 8). third_party/go-pkcs12 has the same loop for PKCS#12 files.
func pbkdf2Key(ctx context.Context, h func() hash.Hash, password string, salt []byte, iter, keyLen int) ([]byte, error) {
	stopped := func() error { return fmt.Errorf("%w: deriving key: %w", ErrStopped, ctx.Err()) }
	if ctx.Err() != nil {
		return nil, stopped()
	}
	prf := hmac.New(h, []byte(password))
	hashLen := prf.Size()
	numBlocks := (keyLen + hashLen - 1) / hashLen
	var buf [4]byte
	dk := make([]byte, 0, numBlocks*hashLen)
	u := make([]byte, hashLen)
	for block := 1; block <= numBlocks; block++ {
		// U_1 = PRF(password, salt || INT(block)); T = U_1 ^ ... ^ U_iter.
		prf.Reset()
		prf.Write(salt)
		binary.BigEndian.PutUint32(buf[:], uint32(block))
		prf.Write(buf[:])
		dk = prf.Sum(dk)
		t := dk[len(dk)-hashLen:]
		copy(u, t)
		for n := 2; n <= iter; n++ {
			if n%pbkdf2CheckEvery == 0 && ctx.Err() != nil {
				return nil, stopped()
			}
			prf.Reset()
			prf.Write(u)
			u = prf.Sum(u[:0])
			for i := range u {
				t[i] ^= u[i]
			}
		}
	}
	return dk[:keyLen], nil
}
