package bus

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hark/internal/testpeer"
)

// gpgMsg is a message payload and its canonical JSON, written out by hand:
// the exact text fedmsg's gpg backend hands to gpg --detach-sign (sorted
// keys, no spaces, non-ASCII escaped).
const (
	gpgMsg          = `{"user": "bob", "comment": "café ☕", "karma": 1.5, "tags": ["a", "b"]}`
	gpgMsgCanonical = `{"comment":"caf\u00e9 \u2615","karma":1.5,"tags":["a","b"],"user":"bob"}`
)

// gpgEnvelope is an envelope carrying msg and sig (raw gpg output) the way
// fedmsg's older gpg backend sent it, base64 wrapped at 76 columns
// (its current one writes one line, as hark's signer does).
func gpgEnvelope(t *testing.T, msg string, sig []byte) *Envelope {
	t.Helper()
	text := `{"topic": "org.debian.dev.hark.test", "msg": ` + msg +
		`, "timestamp": 1700000000, "msg_id": "2023-x", "i": 1, "username": "bob", "crypto": "gpg", "signature": ` +
		string(Canonical(wrap76(base64.StdEncoding.EncodeToString(sig)))) + `}`
	env, err := Decode([]byte(text))
	if err != nil {
		t.Fatalf("decode envelope: %v", err)
	}
	return env
}

func gpgVerifierFor(t *testing.T, keyring string) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifyOptions{GPGKeyring: keyring})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyGPGSignedByGnuPG(t *testing.T) {
	g := testpeer.StartGPG(t)
	fpr := g.GenKey("publisher <pub@example.org>", "never")
	other := testpeer.StartGPG(t)
	other.GenKey("stranger <stranger@example.org>", "never")

	binary := g.WriteFile("pub.gpg", g.Run(nil, "--export", fpr))
	armored := g.WriteFile("pub.asc", g.Run(nil, "--export", "--armor", fpr))
	strangers := g.WriteFile("stranger.asc", other.Run(nil, "--export", "--armor"))
	sig := g.Run([]byte(gpgMsgCanonical), "--local-user", fpr, "--detach-sign")
	armoredSig := g.Run([]byte(gpgMsgCanonical), "--local-user", fpr, "--armor", "--detach-sign")

	for _, tc := range []struct {
		name    string
		keyring string
		msg     string
		sig     []byte
		want    error
		reason  string
	}{
		{"binary keyring", binary, gpgMsg, sig, nil, ""},
		{"armored keyring", armored, gpgMsg, sig, nil, ""},
		{"armored signature", armored, gpgMsg, armoredSig, nil, ""},
		{"same msg, other key order and spacing", armored, `{"tags":["a","b"],"karma":1.5,"comment":"café ☕","user":"bob"}`, sig, nil, ""},
		{"changed msg", armored, strings.Replace(gpgMsg, "bob", "eve", 1), sig, ErrBadSignature, "does not match"},
		{"changed number text", armored, strings.Replace(gpgMsg, "1.5", "1.50", 1), sig, ErrBadSignature, "does not match"},
		{"signer not in keyring", strangers, gpgMsg, sig, ErrUnknownSigner, "not in the gpg keyring"},
		{"not a signature", armored, gpgMsg, []byte("hello"), ErrMalformedSigning, "not an OpenPGP signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := gpgVerifierFor(t, tc.keyring).Verify(gpgEnvelope(t, tc.msg, tc.sig))
			wantVerify(t, err, tc.want, tc.reason)
		})
	}
}

func TestVerifyGPGRefusesExpiredAndRevokedKeys(t *testing.T) {
	g := testpeer.StartGPG(t)
	// A key that lived one day in 2020, and a signature it made then.
	past := []string{"--faked-system-time", "20200101T000000"}
	expired := g.GenKey("expired <old@example.org>", "1d", past...)
	expiredSig := g.Run([]byte(gpgMsgCanonical), append(past, "--local-user", expired, "--detach-sign")...)
	revoked := g.GenKey("revoked <lost@example.org>", "never")
	revokedSig := g.Run([]byte(gpgMsgCanonical), "--local-user", revoked, "--detach-sign")
	g.Revoke(revoked)
	keyring := g.WriteFile("keys.gpg", g.Run(nil, "--export"))
	v := gpgVerifierFor(t, keyring)

	wantVerify(t, v.Verify(gpgEnvelope(t, gpgMsg, expiredSig)), ErrKeyExpired, "has expired")
	wantVerify(t, v.Verify(gpgEnvelope(t, gpgMsg, revokedSig)), ErrKeyRevoked, "is revoked")
}

func TestVerifyGPGWithoutKeyringIsUnsupported(t *testing.T) {
	env := gpgEnvelope(t, gpgMsg, []byte("x"))
	wantVerify(t, noCAVerifier(t).Verify(env), ErrUnsupportedCrypto, "no gpg keyring")
}

func TestGPGSignedByHarkVerifiesInGnuPG(t *testing.T) {
	g := testpeer.StartGPG(t)
	fpr := g.GenKey("hark <hark@example.org>", "never")
	for _, tc := range []struct{ name, export string }{
		{"armored secret key", "--armor"},
		{"binary secret key", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--export-secret-keys", fpr}
			if tc.export != "" {
				args = append([]string{tc.export}, args...)
			}
			signer, err := LoadGPGSigner(g.WriteFile("secret.key", g.Run(nil, args...)))
			if err != nil {
				t.Fatal(err)
			}
			env := gpgEnvelope(t, gpgMsg, nil)
			delete(env.Fields, "signature")
			env.Fields["certificate"] = "left over"
			if err := signer.Sign(env); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(env.Signature, "\n") {
				t.Errorf("signature %q is wrapped; fedmsg's b64encode writes one line", env.Signature)
			}
			if env.Fields["crypto"] != "gpg" || env.Fields["certificate"] != nil {
				t.Errorf("signed fields: crypto %v, certificate %v; want gpg and none", env.Fields["crypto"], env.Fields["certificate"])
			}
			// What travels is the canonical envelope; gpg checks its
			// signature over the canonical msg, as fedmsg's validate does.
			wire, err := Decode(Canonical(env.Fields))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := wrappedBase64(wire.Fields, "signature")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			sigFile, dataFile := filepath.Join(dir, "msg.sig"), filepath.Join(dir, "msg.json")
			os.WriteFile(sigFile, sig, 0o600)
			os.WriteFile(dataFile, []byte(gpgMsgCanonical), 0o600)
			if out, err := g.Try(nil, "--verify", sigFile, dataFile); err != nil {
				t.Fatalf("gpg --verify refused hark's signature: %v %s", err, out)
			}
			keyring := g.WriteFile("pub.asc", g.Run(nil, "--export", "--armor", fpr))
			if err := gpgVerifierFor(t, keyring).Verify(wire); err != nil {
				t.Errorf("hark refuses its own gpg signature: %v", err)
			}
		})
	}
}

func TestLoadGPGSignerErrors(t *testing.T) {
	g := testpeer.StartGPG(t)
	fpr := g.GenKey("public only <p@example.org>", "never")
	public := g.WriteFile("pub.asc", g.Run(nil, "--export", "--armor", fpr))
	protected := testpeer.StartGPG(t)
	protected.Run(nil, "--passphrase", "secret", "--quick-gen-key", "locked <l@example.org>", "ed25519", "sign", "never")
	locked := g.WriteFile("locked.asc", protected.Run(nil, "--passphrase", "secret", "--armor", "--export-secret-keys"))
	for _, tc := range []struct{ name, path, want string }{
		{"missing file", filepath.Join(t.TempDir(), "nope"), "no such file"},
		{"public key only", public, "no secret key"},
		{"passphrase", locked, "passphrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadGPGSigner(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadGPGSigner = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestLoadKeyringErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.asc")
	os.WriteFile(empty, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n"), 0o600)
	junk := filepath.Join(dir, "junk.gpg")
	os.WriteFile(junk, []byte("not a key"), 0o600)
	for _, path := range []string{filepath.Join(dir, "nope"), empty, junk} {
		if _, err := NewVerifier(VerifyOptions{GPGKeyring: path}); err == nil || !strings.Contains(err.Error(), "load gpg keyring") {
			t.Errorf("NewVerifier(%s) = %v, want a load gpg keyring error", filepath.Base(path), err)
		}
	}
}
