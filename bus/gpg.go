package bus

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Reasons a GnuPG-signed message fails verification, besides those shared
// with X.509 (ErrNotSigned, ErrMalformedSigning, ErrBadSignature).
var (
	ErrUnknownSigner = errors.New("signer's key is not in the keyring")
	ErrKeyExpired    = errors.New("signing key expired")
	ErrKeyRevoked    = errors.New("signing key revoked")
)

// gpgVerifier checks fedmsg's GnuPG signatures (crypto "gpg", Debian's
// deployment): a detached OpenPGP signature, base64 in the signature
// field, over the canonical JSON of the msg field alone, as
// fedmsg.crypto.gpg signs fedmsg.encoding.dumps(message['msg']). The
// envelope's other fields are not covered, as with fedmsg.
type gpgVerifier struct {
	keyring openpgp.EntityList
	now     func() time.Time
}

// LoadKeyring reads OpenPGP public keys from path, armored (gpg --export
// --armor) or binary (gpg --export, a .gpg keyring file).
func LoadKeyring(path string) (openpgp.EntityList, error) {
	keys, err := readKeys(path)
	if err != nil {
		return nil, fmt.Errorf("load gpg keyring: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("load gpg keyring %s: no public key in the file", path)
	}
	return keys, nil
}

// verify checks env's GnuPG signature against the keyring. Revocation and
// expiry are judged now, as gpg would refuse to sign with such a key.
func (g *gpgVerifier) verify(env *Envelope) error {
	sig, err := wrappedBase64(env.Fields, "signature")
	if err != nil {
		return err
	}
	msg, ok := env.Fields["msg"]
	if !ok {
		return fail(ErrMalformedSigning, "message has no msg field for its gpg signature to cover")
	}
	if bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE")) {
		block, err := armorBody(sig)
		if err != nil {
			return err
		}
		sig = block
	}
	cfg := &packet.Config{Time: g.now}
	_, signer, err := openpgp.VerifyDetachedSignature(g.keyring, bytes.NewReader(Canonical(msg)), bytes.NewReader(sig), cfg)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return fail(ErrUnknownSigner, "signed by key %s, which is not in the gpg keyring", issuerOf(sig))
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return fail(ErrKeyRevoked, "signing key %s (%s) is revoked", issuerOf(sig), identityOf(signer))
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrSignatureExpired):
		return fail(ErrKeyExpired, "signing key %s (%s) has expired", issuerOf(sig), identityOf(signer))
	}
	var structural pgperrors.StructuralError
	var unsupported pgperrors.UnsupportedError
	if errors.As(err, &structural) || errors.As(err, &unsupported) {
		return fail(ErrMalformedSigning, "signature is not an OpenPGP signature: %v", err)
	}
	return fail(ErrBadSignature, "gpg signature does not match (key %s)", issuerOf(sig))
}

// armorBody decodes an ASCII-armored signature, for publishers that signed
// with gpg --armor.
func armorBody(sig []byte) ([]byte, error) {
	block, err := armor.Decode(bytes.NewReader(sig))
	if err != nil {
		return nil, fail(ErrMalformedSigning, "signature armor: %v", err)
	}
	body, err := io.ReadAll(block.Body)
	if err != nil {
		return nil, fail(ErrMalformedSigning, "signature armor: %v", err)
	}
	return body, nil
}

// issuerOf names the key that made sig, as gpg prints it (16 hex digits),
// or "unknown" when the packet does not say.
func issuerOf(sig []byte) string {
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		return "unknown"
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return "unknown"
	}
	if s.IssuerFingerprint != nil {
		return fmt.Sprintf("%X", s.IssuerFingerprint)
	}
	if s.IssuerKeyId != nil {
		return fmt.Sprintf("%016X", *s.IssuerKeyId)
	}
	return "unknown"
}

// identityOf is the signer's primary user ID, for error messages.
func identityOf(e *openpgp.Entity) string {
	if e == nil {
		return "no user ID"
	}
	if id := e.PrimaryIdentity(); id != nil {
		return id.Name
	}
	return "no user ID"
}

// GPGSigner signs envelopes as fedmsg.crypto.gpg does, so that hark's
// verifier, fedmsg and gpg --verify accept them.
type GPGSigner struct {
	entity *openpgp.Entity
}

// readKeys reads the OpenPGP keys of path, armored (gpg --armor) or
// binary; errors name the file.
func readKeys(path string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys openpgp.EntityList
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		keys, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		keys, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// LoadGPGSigner reads a secret key exported by gpg --export-secret-keys
// (armored or binary). Its passphrase must be empty: a service signs
// unattended, as fedmsg's gpg backend does with its own keyring.
func LoadGPGSigner(path string) (*GPGSigner, error) {
	keys, err := readKeys(path)
	if err != nil {
		return nil, fmt.Errorf("load gpg signing key: %w", err)
	}
	for _, e := range keys {
		key, ok := e.SigningKey(time.Now())
		if !ok || key.PrivateKey == nil {
			continue
		}
		if key.PrivateKey.Encrypted {
			return nil, fmt.Errorf("load gpg signing key %s: key %s is protected by a passphrase; export it without one", path, identityOf(e))
		}
		return &GPGSigner{entity: e}, nil
	}
	return nil, fmt.Errorf("load gpg signing key %s: no secret key that can sign now (export it with gpg --export-secret-keys)", path)
}

// Sign sets crypto to "gpg" and adds signature: a binary detached
// signature over the canonical JSON of msg, in base64 on one line, as
// fedmsg's gpg backend (b64encode) writes it; fedmsg's older releases
// wrapped it at 76 columns, which the verifier accepts too. A previous
// certificate is removed, since GnuPG messages carry none.
func (s *GPGSigner) Sign(env *Envelope) error {
	delete(env.Fields, "signature")
	delete(env.Fields, "certificate")
	env.Fields["crypto"] = "gpg"
	if _, err := pythonNumbers(env.Fields); err != nil {
		return fmt.Errorf("sign envelope: %w", err)
	}
	env.Msg = env.Fields["msg"]
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, s.entity, bytes.NewReader(Canonical(env.Msg)), nil); err != nil {
		return fmt.Errorf("sign envelope: %w", err)
	}
	env.Crypto = "gpg"
	env.Signature = base64.StdEncoding.EncodeToString(sig.Bytes())
	env.Certificate = ""
	env.Fields["signature"] = env.Signature
	return nil
}
