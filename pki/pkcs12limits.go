package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// A PKCS#12 file names the iteration counts of its own key derivations:
// one for the MAC, one per encrypted safe, one per shrouded key bag.
// go-pkcs12 runs whatever it is given (200 million iterations took 26 s of
// CPU and kept running after the client left), so the counts are read and
// capped here, as for pasted PKCS#8 keys (maxPBKDF2Iterations), before the
// library runs any KDF. A file is thus at most a handful of capped
// derivations: the MAC (twice for an empty password, which go-pkcs12
// retries), two safes and one key bag; our patched go-pkcs12
// (DecodePKCS12Context) stops those when the session ends.
//
// A key bag inside an encrypted safe is only visible once that safe is
// decrypted, inside go-pkcs12: its count is not checked. OpenSSL, Windows,
// Java and go-pkcs12 write the key bag in a plain safe, where it is, and
// a hostile file must still carry a MAC made with the password given.

var oidPBMAC1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}

// pfxMacData is RFC 7292's MacData.
type pfxMacData struct {
	Mac struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type pfxWithMac struct {
	Version  int
	AuthSafe pfxContentInfo
	MacData  pfxMacData `asn1:"optional"`
}

// pkcs12PBEParams are the parameters of the pbeWithSHAAnd* schemes.
type pkcs12PBEParams struct {
	Salt       []byte
	Iterations int
}

// pbmac1Params are RFC 8018's PBMAC1 parameters.
type pbmac1Params struct {
	KDF    pkix.AlgorithmIdentifier
	MacAlg pkix.AlgorithmIdentifier
}

// checkIterations refuses a count beyond the PKCS#8 cap; where names the
// part of the file.
func checkIterations(where string, n int) error {
	if n < 1 || n > maxPBKDF2Iterations {
		return fmt.Errorf("%w: PKCS#12 %s: iteration count %d outside 1..%d", ErrUnsupportedEncryption, where, n, maxPBKDF2Iterations)
	}
	return nil
}

// pbkdf2Iterations reads the iteration count of a PBKDF2 algorithm
// identifier (within PBES2 or PBMAC1).
func pbkdf2Iterations(kdf pkix.AlgorithmIdentifier) (int, error) {
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return 0, fmt.Errorf("%w: key derivation %s", ErrUnsupportedEncryption, kdf.Algorithm)
	}
	var kp struct {
		Salt       asn1.RawValue
		Iterations int
		Rest       asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &kp); err != nil {
		return 0, fmt.Errorf("%w: PBKDF2 parameters: %w", ErrMalformedPKCS12, err)
	}
	return kp.Iterations, nil
}

// algIterations reads the iteration count of an encryption or MAC
// algorithm; ok is false for an algorithm without a KDF of its own.
func algIterations(alg pkix.AlgorithmIdentifier) (n int, ok bool, err error) {
	switch {
	case alg.Algorithm.Equal(oidPBES2):
		var p pbes2Params
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil {
			return 0, false, fmt.Errorf("%w: PBES2 parameters: %w", ErrMalformedPKCS12, err)
		}
		n, err := pbkdf2Iterations(p.KeyDerivationFunc)
		return n, err == nil, err
	case alg.Algorithm.Equal(oidPBMAC1):
		var p pbmac1Params
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil {
			return 0, false, fmt.Errorf("%w: PBMAC1 parameters: %w", ErrMalformedPKCS12, err)
		}
		n, err := pbkdf2Iterations(p.KDF)
		return n, err == nil, err
	case isPBES1(alg.Algorithm):
		var p pkcs12PBEParams
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil {
			return 0, false, fmt.Errorf("%w: PBE parameters: %w", ErrMalformedPKCS12, err)
		}
		return p.Iterations, true, nil
	}
	return 0, false, nil
}

// checkAlg caps the KDF of one algorithm identifier.
func checkAlg(where string, alg pkix.AlgorithmIdentifier) error {
	n, ok, err := algIterations(alg)
	if err != nil || !ok {
		return err
	}
	return checkIterations(where, n)
}

// checkPKCS12Work refuses a PFX that asks for more key-derivation work
// than the cap, before any of it is done. Structural errors are left to
// go-pkcs12, which reports them better.
func checkPKCS12Work(data []byte) error {
	var pfx pfxWithMac
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return nil
	}
	if alg := pfx.MacData.Mac.Algorithm; len(alg.Algorithm) > 0 {
		if alg.Algorithm.Equal(oidPBMAC1) {
			if err := checkAlg("MAC", alg); err != nil {
				return err
			}
		} else if err := checkIterations("MAC", pfx.MacData.Iterations); err != nil {
			return err
		}
	}
	var safeDER []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &safeDER); err != nil {
		return nil
	}
	var safe []pfxContentInfo
	if _, err := asn1.Unmarshal(safeDER, &safe); err != nil {
		return nil
	}
	for _, ci := range safe {
		switch {
		case ci.ContentType.Equal(oidEncryptedDataContentType):
			var ed pfxEncryptedData
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
				return nil
			}
			if err := checkAlg("certificate safe", ed.EncryptedContentInfo.Algorithm); err != nil {
				return err
			}
		case ci.ContentType.Equal(oidDataContentType):
			if err := checkKeyBags(ci.Content.Bytes); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKeyBags caps the KDF of each shrouded key bag in a plain safe.
func checkKeyBags(content []byte) error {
	var bagsDER []byte
	if _, err := asn1.Unmarshal(content, &bagsDER); err != nil {
		return nil
	}
	var bags []pfxSafeBag
	if _, err := asn1.Unmarshal(bagsDER, &bags); err != nil {
		return nil
	}
	for _, b := range bags {
		if !b.ID.Equal(oidPKCS8ShroudedKeyBag) {
			continue
		}
		var info encryptedPrivateKeyInfo
		if _, err := asn1.Unmarshal(b.Value.Bytes, &info); err != nil {
			return nil
		}
		if err := checkAlg("key bag", info.Algorithm); err != nil {
			return err
		}
	}
	return nil
}
