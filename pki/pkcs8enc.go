package pki

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// crypto/x509 cannot read encrypted PKCS#8 (RFC 5958 EncryptedPrivateKeyInfo),
// yet it is the default output of OpenSSL 3 ("openssl genpkey -aes256",
// "openssl pkcs8 -topk8"), so the PBES2 subset OpenSSL produces is decoded
// here with encoding/asn1.

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}

	oidPKCS5     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5}
	oidPKCS12PBE = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
)

// prfs maps PBKDF2 PRF OIDs to hashes. RFC 8018 makes HMAC-SHA1 the
// default when the field is absent, which older OpenSSL relies on.
var prfs = map[string]func() hash.Hash{
	"1.2.840.113549.2.7":  sha1.New,
	"1.2.840.113549.2.8":  sha256.New224,
	"1.2.840.113549.2.9":  sha256.New,
	"1.2.840.113549.2.10": sha512.New384,
	"1.2.840.113549.2.11": sha512.New,
}

type pbes2Cipher struct {
	keyLen int
	block  func(key []byte) (cipher.Block, error)
}

var pbes2Ciphers = map[string]pbes2Cipher{
	"2.16.840.1.101.3.4.1.2":  {16, aes.NewCipher},
	"2.16.840.1.101.3.4.1.22": {24, aes.NewCipher},
	"2.16.840.1.101.3.4.1.42": {32, aes.NewCipher},
	"1.2.840.113549.3.7":      {24, des.NewTripleDESCipher},
}

// maxPBKDF2Iterations bounds the work a hostile file can demand. OpenSSL
// defaults to 2048 and password managers use under a million; the fuzz
// tests lower it to keep executions fast.
var maxPBKDF2Iterations = 10_000_000

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// pbes2Decrypter holds everything needed to decrypt once the passphrase is
// known.
type pbes2Decrypter struct {
	salt       []byte
	iterations int
	prf        func() hash.Hash
	cipher     pbes2Cipher
	iv         []byte
	ciphertext []byte
}

// unmarshalAll rejects trailing bytes, which encoding/asn1 otherwise
// returns silently and which would let junk ride along in a key file.
func unmarshalAll(der []byte, v any, what string) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformedKey, what, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %s: trailing data", ErrMalformedKey, what)
	}
	return nil
}

func parseEncryptedPKCS8(der []byte) (*pbes2Decrypter, error) {
	var info encryptedPrivateKeyInfo
	if err := unmarshalAll(der, &info, "encrypted PKCS#8"); err != nil {
		return nil, err
	}
	alg := info.Algorithm.Algorithm
	if !alg.Equal(oidPBES2) {
		if isPBES1(alg) {
			return nil, fmt.Errorf("%w: PBES1 scheme %s (re-encrypt with openssl pkcs8 -topk8 -v2 aes256)", ErrUnsupportedEncryption, alg)
		}
		return nil, fmt.Errorf("%w: scheme %s", ErrUnsupportedEncryption, alg)
	}
	var params pbes2Params
	if err := unmarshalAll(info.Algorithm.Parameters.FullBytes, &params, "PBES2 parameters"); err != nil {
		return nil, err
	}

	kdf := params.KeyDerivationFunc.Algorithm
	switch {
	case kdf.Equal(oidScrypt):
		return nil, fmt.Errorf("%w: scrypt key derivation (re-encrypt with openssl pkcs8 -topk8 -v2 aes256)", ErrUnsupportedEncryption)
	case !kdf.Equal(oidPBKDF2):
		return nil, fmt.Errorf("%w: key derivation %s", ErrUnsupportedEncryption, kdf)
	}
	var kp pbkdf2Params
	if err := unmarshalAll(params.KeyDerivationFunc.Parameters.FullBytes, &kp, "PBKDF2 parameters"); err != nil {
		return nil, err
	}
	if kp.IterationCount < 1 || kp.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: PBKDF2 iteration count %d outside 1..%d", ErrUnsupportedEncryption, kp.IterationCount, maxPBKDF2Iterations)
	}
	prf := sha1.New
	if len(kp.PRF.Algorithm) > 0 {
		var ok bool
		if prf, ok = prfs[kp.PRF.Algorithm.String()]; !ok {
			return nil, fmt.Errorf("%w: PBKDF2 PRF %s", ErrUnsupportedEncryption, kp.PRF.Algorithm)
		}
	}

	enc := params.EncryptionScheme.Algorithm
	c, ok := pbes2Ciphers[enc.String()]
	if !ok {
		return nil, fmt.Errorf("%w: cipher %s", ErrUnsupportedEncryption, enc)
	}
	if kp.KeyLength != 0 && kp.KeyLength != c.keyLen {
		return nil, fmt.Errorf("%w: PBKDF2 key length %d does not fit cipher %s", ErrMalformedKey, kp.KeyLength, enc)
	}
	var iv []byte
	if err := unmarshalAll(params.EncryptionScheme.Parameters.FullBytes, &iv, "cipher IV"); err != nil {
		return nil, err
	}
	// Both AES and 3DES IVs are one block long; check against a throwaway
	// cipher rather than hard-coding block sizes.
	blk, err := c.block(make([]byte, c.keyLen))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedEncryption, err)
	}
	bs := blk.BlockSize()
	if len(iv) != bs {
		return nil, fmt.Errorf("%w: IV is %d bytes, want %d", ErrMalformedKey, len(iv), bs)
	}
	if len(info.EncryptedData) == 0 || len(info.EncryptedData)%bs != 0 {
		return nil, fmt.Errorf("%w: encrypted data is not a whole number of blocks", ErrMalformedKey)
	}
	return &pbes2Decrypter{
		salt:       kp.Salt,
		iterations: kp.IterationCount,
		prf:        prf,
		cipher:     c,
		iv:         iv,
		ciphertext: info.EncryptedData,
	}, nil
}

// isPBES1 reports whether alg is one of the single-DES/RC2/3DES
// password-based schemes that predate PBES2: PKCS#5 v1.5 pbeWith* or the
// PKCS#12 pbeWithSHAAnd* family. OpenSSL writes them with "-v1" or
// "-legacy"; both the PKCS#8 and PKCS#12 code need to recognise them.
func isPBES1(alg asn1.ObjectIdentifier) bool {
	if len(alg) == len(oidPKCS12PBE)+1 && alg[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE) {
		return true
	}
	if len(alg) == len(oidPKCS5)+1 && alg[:len(oidPKCS5)].Equal(oidPKCS5) {
		switch alg[len(alg)-1] {
		case 1, 3, 4, 6, 10, 11:
			return true
		}
	}
	return false
}

// decrypt returns the PKCS#8 PrivateKeyInfo DER. Bad padding is reported
// as ErrBadPassphrase because that is by far its most likely cause.
func (d *pbes2Decrypter) decrypt(ctx context.Context, passphrase []byte) ([]byte, error) {
	key, err := pbkdf2Key(ctx, d.prf, string(passphrase), d.salt, d.iterations, d.cipher.keyLen)
	if errors.Is(err, ErrStopped) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("deriving key: %w", err)
	}
	blk, err := d.cipher.block(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedEncryption, err)
	}
	out := make([]byte, len(d.ciphertext))
	cipher.NewCBCDecrypter(blk, d.iv).CryptBlocks(out, d.ciphertext)
	n := int(out[len(out)-1])
	if n == 0 || n > blk.BlockSize() {
		return nil, ErrBadPassphrase
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, ErrBadPassphrase
		}
	}
	return out[:len(out)-n], nil
}
