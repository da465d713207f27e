package bus

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// Signer signs envelopes as fedmsg.crypto.x509 does, so that both hark's
// Verifier and fedmsg's validate accept them.
type Signer struct {
	key *rsa.PrivateKey
	// certificate is the wrapped base64 of the certificate's PEM, computed
	// once: it is the same on every message.
	certificate string
}

// LoadSigner reads an RSA private key (PKCS#1 or PKCS#8 PEM, unencrypted,
// as fedmsg's <certname>.key) and its certificate (PEM, <certname>.crt).
func LoadSigner(keyFile, certFile string) (*Signer, error) {
	key, err := loadRSAKey(keyFile)
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("load signing certificate: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("load signing certificate %s: no PEM CERTIFICATE block", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load signing certificate %s: %w", certFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("load signer: key %s does not belong to certificate %s", keyFile, certFile)
	}
	// fedmsg carries cert.public_bytes(PEM): the DER re-encoded as PEM with
	// 64-column lines, which is what pem.EncodeToMemory writes.
	normalized := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	return &Signer{key: key, certificate: wrap76(base64.StdEncoding.EncodeToString(normalized))}, nil
}

func loadRSAKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("load signing key %s: no PEM block", path)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load signing key %s: %w", path, err)
		}
		return key, nil
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load signing key %s: %w", path, err)
		}
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("load signing key %s: %T is not an RSA key; fedmsg signatures are RSA", path, key)
		}
		return rsaKey, nil
	}
	return nil, fmt.Errorf("load signing key %s: PEM block %q is not an unencrypted RSA private key", path, block.Type)
}

// Sign sets crypto to "x509" and adds signature and certificate, in Fields
// and in the typed fields, as fedmsg's sign does: RSA PKCS#1 v1.5 with
// SHA-1 over the canonical JSON of the envelope without them, both
// base64-wrapped at 76 columns with a final newline.
//
// Numbers in Fields are first rewritten the way Python writes them ("1.50"
// becomes "1.5"), because a Python verifier re-serialises what it parses;
// after Sign, send Canonical(env.Fields) so the wire carries that text.
func (s *Signer) Sign(env *Envelope) error {
	delete(env.Fields, "signature")
	delete(env.Fields, "certificate")
	env.Fields["crypto"] = "x509"
	if _, err := pythonNumbers(env.Fields); err != nil {
		return fmt.Errorf("sign envelope: %w", err)
	}
	env.Msg = env.Fields["msg"]
	digest := sha1.Sum(Canonical(env.Fields))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, digest[:])
	if err != nil {
		return fmt.Errorf("sign envelope: %w", err)
	}
	env.Crypto = "x509"
	env.Signature = wrap76(base64.StdEncoding.EncodeToString(sig))
	env.Certificate = s.certificate
	env.Fields["signature"] = env.Signature
	env.Fields["certificate"] = env.Certificate
	return nil
}

// wrap76 splits base64 text into 76-column lines, each ending in a
// newline, as Python's base64.encodebytes and fedmsg's _prep_crypto_msg do.
func wrap76(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/76 + 1)
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteByte('\n')
		s = s[76:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}
