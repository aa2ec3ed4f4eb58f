// esash patch: this file is esash's (see ESASH-PATCH.md), not upstream's.

package pkcs12

import (
	"context"
	"crypto/hmac"
	"encoding/binary"
	"hash"

	"crypto/x509"
)

// kdfCheckEvery is how many hash iterations a key derivation runs between
// two looks at its context: a few milliseconds of CPU at most.
const kdfCheckEvery = 4096

// pbkdf2Context is RFC 8018's PBKDF2 (section 5.2), as
// golang.org/x/crypto/pbkdf2.Key computes it, but it stops with ctx.Err()
// when ctx is done. x/crypto's loop cannot be interrupted, and PBES2 and
// PBMAC1 (the modern files) use it.
func pbkdf2Context(ctx context.Context, password, salt []byte, iter, keyLen int, h func() hash.Hash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prf := hmac.New(h, password)
	hashLen := prf.Size()
	numBlocks := (keyLen + hashLen - 1) / hashLen
	var buf [4]byte
	dk := make([]byte, 0, numBlocks*hashLen)
	U := make([]byte, hashLen)
	for block := 1; block <= numBlocks; block++ {
		// U_1 = PRF(password, salt || uint(i)); T_i = U_1 ^ U_2 ^ ... ^ U_c.
		prf.Reset()
		prf.Write(salt)
		binary.BigEndian.PutUint32(buf[:], uint32(block))
		prf.Write(buf[:4])
		dk = prf.Sum(dk)
		T := dk[len(dk)-hashLen:]
		copy(U, T)
		for n := 2; n <= iter; n++ {
			if n%kdfCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			prf.Reset()
			prf.Write(U)
			U = U[:0]
			U = prf.Sum(U)
			for x := range U {
				T[x] ^= U[x]
			}
		}
	}
	return dk[:keyLen], nil
}

// DecodeChainContext is [DecodeChain] that stops, returning ctx.Err(), when
// ctx is done: every key derivation (the PKCS#12 KDF of the MAC and of
// legacy PBE, PBKDF2 of PBES2 and PBMAC1) looks at ctx every few thousand
// iterations, so a file that asks for millions of iterations does not
// keep burning CPU after the caller has gone.
func DecodeChainContext(ctx context.Context, pfxData []byte, password string) (privateKey interface{}, certificate *x509.Certificate, caCerts []*x509.Certificate, err error) {
	return decodeChain(ctx, pfxData, password)
}
