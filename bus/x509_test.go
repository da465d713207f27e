package bus

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hark/internal/testpeer"
)

func signedSamples(t *testing.T) []fedmsgSample {
	t.Helper()
	var signed []fedmsgSample
	for _, s := range fedmsgSamples(t) {
		if s.signed {
			signed = append(signed, s)
		}
	}
	if len(signed) != 20 {
		t.Fatalf("samples file has %d messages marked x509_signature_check ok, want 20", len(signed))
	}
	return signed
}

func noCAVerifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantVerify checks Verify's outcome: nil when want is nil, else an error
// of kind want whose text contains reason.
func wantVerify(t *testing.T, err, want error, reason string) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("Verify = %v, want ok", err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("Verify = %v, want %v", err, want)
	case want != nil && !strings.Contains(err.Error(), reason):
		t.Errorf("Verify = %q, want the reason to say %q", err, reason)
	}
}

func TestVerifyRealSignedSamples(t *testing.T) {
	v := noCAVerifier(t)
	for _, s := range signedSamples(t) {
		env, err := Decode(s.envelope)
		if err != nil {
			t.Fatalf("samples line %d: %v", s.line, err)
		}
		if err := v.Verify(env); err != nil {
			t.Errorf("samples line %d (%s): %v", s.line, env.Topic, err)
		}
	}
}

// sampleFields decodes the first real signed sample, a datagrepper copy
// with source_name, source_version, empty headers and a float timestamp.
func sampleFields(t *testing.T) map[string]any {
	t.Helper()
	fields, err := decodeObject(signedSamples(t)[0].envelope)
	if err != nil {
		t.Fatal(err)
	}
	return fields
}

func verifyFields(t *testing.T, v *Verifier, fields map[string]any) error {
	t.Helper()
	env, err := FromFields(fields)
	if err != nil {
		t.Fatalf("build envelope: %v", err)
	}
	return v.Verify(env)
}

func TestVerifyTamperedSampleFails(t *testing.T) {
	other := signedSamples(t)[1] // another publisher's certificate and signature
	otherFields, err := decodeObject(other.envelope)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(f map[string]any)
	}{
		{"payload value", func(f map[string]any) {
			f["msg"].(map[string]any)["bug"].(map[string]any)["id"] = json.Number("837791")
		}},
		{"payload key added", func(f map[string]any) { f["msg"].(map[string]any)["extra"] = true }},
		{"topic", func(f map[string]any) { f["topic"] = "org.fedoraproject.prod.bugzilla.bug.new" }},
		{"timestamp by a second", func(f map[string]any) { f["timestamp"] = json.Number("1559777809.0") }},
		{"msg_id", func(f map[string]any) { f["msg_id"] = "2019-00000000-5825-42e0-8e43-9d9bdd15cd01" }},
		{"counter i", func(f map[string]any) { f["i"] = json.Number("5390") }},
		{"username", func(f map[string]any) { f["username"] = "root" }},
		{"crypto removed", func(f map[string]any) { delete(f, "crypto") }},
		{"envelope field added", func(f map[string]any) { f["seq_id"] = json.Number("1") }},
		{"non-empty headers", func(f map[string]any) { f["headers"] = map[string]any{"k": "v"} }},
		{"datagrepper marker half removed", func(f map[string]any) { delete(f, "source_version") }},
		{"another message's signature", func(f map[string]any) { f["signature"] = otherFields["signature"] }},
		{"another publisher's certificate", func(f map[string]any) { f["certificate"] = otherFields["certificate"] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := sampleFields(t)
			tc.tamper(fields)
			wantVerify(t, verifyFields(t, noCAVerifier(t), fields), ErrBadSignature, "signature does not match")
		})
	}
}

// TestVerifyDatagrepperNormalisation pins what fedmsg's
// fix_datagrepper_message leaves unsigned: datagrepper's own keys, an
// empty headers, and the timestamp's fraction.
func TestVerifyDatagrepperNormalisation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f map[string]any)
	}{
		{"as datagrepper serves it", func(map[string]any) {}},
		{"other datagrepper source", func(f map[string]any) { f["source_name"], f["source_version"] = "datagrepper", "1.2" }},
		{"headers null", func(f map[string]any) { f["headers"] = nil }},
		{"headers absent", func(f map[string]any) { delete(f, "headers") }},
		{"integer timestamp", func(f map[string]any) { f["timestamp"] = json.Number("1559777808") }},
		{"timestamp fraction", func(f map[string]any) { f["timestamp"] = json.Number("1559777808.75") }},
		{"signature rewrapped", func(f map[string]any) {
			f["signature"] = strings.ReplaceAll(f["signature"].(string), "\n", "") + "\r\n"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := sampleFields(t)
			tc.change(fields)
			wantVerify(t, verifyFields(t, noCAVerifier(t), fields), nil, "")
		})
	}
}

// TestVerifyAnyChangedByteFails changes each byte of a real signed
// payload in turn; every change that still parses as a different message
// must fail verification.
func TestVerifyAnyChangedByteFails(t *testing.T) {
	fields := sampleFields(t)
	body, err := signedBody(fields)
	if err != nil {
		t.Fatal(err)
	}
	v := noCAVerifier(t)
	tested := 0
	for i := range body {
		changed := bytes.Clone(body)
		changed[i] = otherByte(body[i])
		tampered, err := decodeObject(changed)
		if err != nil {
			continue // not a message at all
		}
		if _, err := FromFields(tampered); err != nil {
			continue
		}
		if bytes.Equal(Canonical(tampered), body) {
			continue // the same message spelled differently (an escape's hex case)
		}
		tampered["signature"], tampered["certificate"] = fields["signature"], fields["certificate"]
		tested++
		// Mostly a signature mismatch; a changed crypto value is refused
		// before the signature is checked.
		if err := verifyFields(t, v, tampered); !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrUnsupportedCrypto) {
			t.Errorf("byte %d changed %q→%q: Verify = %v, want a failure with a reason", i, body[i], changed[i], err)
		}
	}
	if tested < len(body)/2 {
		t.Errorf("only %d of %d byte changes gave a message to verify", tested, len(body))
	}
}

// otherByte is a different byte of the same class, so most changes keep
// the JSON valid: a digit for a digit, a letter for a letter.
func otherByte(c byte) byte {
	switch {
	case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
		return c + 1
	case c == '9':
		return '0'
	case c == 'z' || c == 'Z':
		return c - 1
	}
	return 'x'
}

func TestVerifyMalformedSigning(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f map[string]any)
		want   error
		reason string
	}{
		{"unsigned", func(f map[string]any) { delete(f, "signature"); delete(f, "certificate") }, ErrNotSigned, "no signature field"},
		{"no certificate", func(f map[string]any) { delete(f, "certificate") }, ErrNotSigned, "no certificate field"},
		{"gpg", func(f map[string]any) { f["crypto"] = "gpg" }, ErrUnsupportedCrypto, `crypto is "gpg"`},
		{"signature not base64", func(f map[string]any) { f["signature"] = "!!!" }, ErrMalformedSigning, "signature is not base64"},
		{"signature a number", func(f map[string]any) { f["signature"] = json.Number("1") }, ErrMalformedSigning, "signature is a number"},
		{"certificate not PEM", func(f map[string]any) { f["certificate"] = base64.StdEncoding.EncodeToString([]byte("hello")) }, ErrMalformedSigning, "not a PEM certificate"},
		{"certificate garbage DER", func(f map[string]any) {
			f["certificate"] = base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}))
		}, ErrMalformedSigning, "certificate does not parse"},
		{"datagrepper timestamp a string", func(f map[string]any) { f["timestamp"] = "yesterday" }, ErrMalformedSigning, "timestamp: string is not a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := sampleFields(t)
			tc.change(fields)
			wantVerify(t, verifyFields(t, noCAVerifier(t), fields), tc.want, tc.reason)
		})
	}
}

// testKeys are generated once per test binary: RSA key generation is the
// slow part of these tests.
var testKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

func testKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatalf("generate test keys: %v", err)
	}
	return keys[i]
}

// testCert describes one certificate of a test PKI.
type testCert struct {
	cn         string
	serial     int64
	notBefore  time.Time
	notAfter   time.Time
	isCA       bool
	sha1       bool // signed with SHA-1 as Fedora's CA did
	key        *rsa.PrivateKey
	parent     *x509.Certificate // nil: self-signed
	parentKey  *rsa.PrivateKey
	noCertSign bool // a CA whose key usage forbids signing certificates
}

func (c testCert) create(t *testing.T) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(c.serial),
		Subject:               pkix.Name{CommonName: c.cn, Organization: []string{"hark tests"}},
		NotBefore:             c.notBefore,
		NotAfter:              c.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  c.isCA,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if c.isCA && !c.noCertSign {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if c.sha1 {
		tmpl.SignatureAlgorithm = x509.SHA1WithRSA
	}
	parent, parentKey := c.parent, c.parentKey
	if parent == nil {
		parent, parentKey = tmpl, c.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &c.key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("create certificate %s: %v", c.cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func writePEM(t *testing.T, typ string, der ...[]byte) string {
	t.Helper()
	var buf bytes.Buffer
	for _, d := range der {
		buf.Write(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d}))
	}
	path := filepath.Join(t.TempDir(), strings.ReplaceAll(strings.ToLower(typ), " ", "-")+".pem")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func testSigner(t *testing.T, cert *x509.Certificate, key *rsa.PrivateKey) *Signer {
	t.Helper()
	s, err := LoadSigner(writePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), writePEM(t, "CERTIFICATE", cert.Raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signedAt is an envelope as a publisher sends it, signed by s, then
// decoded from its wire text as a receiver sees it.
func signedAt(t *testing.T, s *Signer, topic string, at time.Time) *Envelope {
	t.Helper()
	env, err := FromFields(map[string]any{
		"topic": topic, "msg": map[string]any{"log": "héllo 😀", "ratio": json.Number("1.50")},
		"timestamp": json.Number(fmt.Sprint(at.Unix())), "i": json.Number("1"),
		"msg_id": fmt.Sprintf("%d-6f1c2a52-4bf2-4d9c-9bd8-0f6cbd3e0f11", at.Year()), "username": "hark",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sign(env); err != nil {
		t.Fatal(err)
	}
	wire, err := Decode(Canonical(env.Fields))
	if err != nil {
		t.Fatal(err)
	}
	return wire
}

var (
	y2014 = time.Date(2014, 6, 20, 0, 0, 0, 0, time.UTC)
	y2019 = time.Date(2019, 6, 5, 23, 36, 48, 0, time.UTC)
	y2024 = time.Date(2024, 6, 17, 0, 0, 0, 0, time.UTC)
	y2034 = time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestVerifyChain(t *testing.T) {
	caKey, otherKey, leafKey := testKey(t, 0), testKey(t, 1), testKey(t, 2)
	ca := testCert{cn: "fedmsg", serial: 1, notBefore: y2014, notAfter: y2034, isCA: true, key: caKey}.create(t)
	sha1CA := testCert{cn: "fedmsg", serial: 1, notBefore: y2014, notAfter: y2034, isCA: true, key: caKey, sha1: true}.create(t)
	if sha1CA.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Fatalf("SHA-1 CA signed with %v", sha1CA.SignatureAlgorithm)
	}
	impostor := testCert{cn: "fedmsg", serial: 1, notBefore: y2014, notAfter: y2034, isCA: true, key: otherKey}.create(t)
	expiredCA := testCert{cn: "fedmsg", serial: 1, notBefore: y2014, notAfter: y2014.AddDate(1, 0, 0), isCA: true, key: caKey}.create(t)
	plainCA := testCert{cn: "fedmsg", serial: 1, notBefore: y2014, notAfter: y2034, isCA: true, key: caKey, noCertSign: true}.create(t)
	leafOf := func(parent *x509.Certificate, serial int64, from, to time.Time, sha1 bool) *x509.Certificate {
		return testCert{cn: "bodhi-app01.phx2.fedoraproject.org", serial: serial, notBefore: from, notAfter: to,
			key: leafKey, parent: parent, parentKey: caKey, sha1: sha1}.create(t)
	}
	leaf := leafOf(ca, 100, y2014, y2024, false)
	sha1Leaf := leafOf(sha1CA, 101, y2014, y2024, true)
	if err := sha1Leaf.CheckSignatureFrom(sha1CA); err == nil {
		t.Fatal("Go's CheckSignatureFrom accepts SHA-1 now; the explicit chain check may be simplified")
	}
	notCA := testCert{cn: "some-host", serial: 7, notBefore: y2014, notAfter: y2034, key: caKey}.create(t)
	leafOfNotCA := leafOf(notCA, 102, y2014, y2024, false)

	for _, tc := range []struct {
		name    string
		bundle  []*x509.Certificate
		crl     []int64 // serials the CA revokes; nil: no CRL
		leaf    *x509.Certificate
		at      time.Time
		noTime  bool
		want    error
		reasons []string
	}{
		{name: "SHA-256 chain, valid at message time", bundle: []*x509.Certificate{ca}, leaf: leaf, at: y2019},
		{name: "SHA-1 chain, as Fedora's", bundle: []*x509.Certificate{sha1CA}, leaf: sha1Leaf, at: y2019},
		{name: "CA found among several", bundle: []*x509.Certificate{notCA, impostor, ca}, leaf: leaf, at: y2019},
		{name: "leaf expired today, valid then", bundle: []*x509.Certificate{ca}, leaf: leafOf(ca, 103, y2014, y2019.AddDate(0, 0, 1), false), at: y2019},
		{name: "leaf expired before message time", bundle: []*x509.Certificate{ca}, leaf: leaf, at: y2024.AddDate(0, 0, 1), want: ErrCertificateTime,
			reasons: []string{"certificate expired at 2024-06-17T00:00:00Z before message time 2024-06-18T00:00:00Z"}},
		{name: "leaf not yet valid", bundle: []*x509.Certificate{ca}, leaf: leaf, at: y2014.AddDate(0, 0, -1), want: ErrCertificateTime,
			reasons: []string{"certificate not valid before 2014-06-20T00:00:00Z"}},
		{name: "CA expired before message time", bundle: []*x509.Certificate{expiredCA}, leaf: leafOf(expiredCA, 104, y2014, y2024, false), at: y2019, want: ErrCertificateTime,
			reasons: []string{"CA certificate fedmsg expired at 2015-06-20T00:00:00Z"}},
		{name: "message without timestamp", bundle: []*x509.Certificate{ca}, leaf: leaf, noTime: true, want: ErrCertificateTime,
			reasons: []string{"no numeric timestamp"}},
		{name: "CA with the same name but another key", bundle: []*x509.Certificate{impostor}, leaf: leaf, at: y2019, want: ErrUntrusted,
			reasons: []string{"is not signed by CA fedmsg"}},
		{name: "issuer not in the bundle", bundle: []*x509.Certificate{notCA}, leaf: leaf, at: y2019, want: ErrUntrusted,
			reasons: []string{"not in the CA bundle"}},
		{name: "issuer is not a CA", bundle: []*x509.Certificate{notCA}, leaf: leafOfNotCA, at: y2019, want: ErrUntrusted,
			reasons: []string{"issuer some-host is not a CA certificate"}},
		{name: "CA may not sign certificates", bundle: []*x509.Certificate{plainCA}, leaf: leafOf(plainCA, 105, y2014, y2024, false), at: y2019, want: ErrUntrusted,
			reasons: []string{"may not sign certificates"}},
		{name: "revoked", bundle: []*x509.Certificate{ca}, crl: []int64{99, 100}, leaf: leaf, at: y2019, want: ErrRevoked,
			reasons: []string{"certificate revoked", "serial 100"}},
		{name: "CRL lists others", bundle: []*x509.Certificate{ca}, crl: []int64{99}, leaf: leaf, at: y2019},
		{name: "empty CRL", bundle: []*x509.Certificate{ca}, crl: []int64{}, leaf: leaf, at: y2019},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var der [][]byte
			for _, c := range tc.bundle {
				der = append(der, c.Raw)
			}
			opts := VerifyOptions{CAFile: writePEM(t, "CERTIFICATE", der...)}
			if tc.crl != nil {
				opts.CRLFile = writeCRL(t, tc.bundle[len(tc.bundle)-1], caKey, tc.crl...)
			}
			v, err := NewVerifier(opts)
			if err != nil {
				t.Fatal(err)
			}
			env := signedAt(t, testSigner(t, tc.leaf, leafKey), "org.fedoraproject.prod.bodhi.update.comment", tc.at)
			if tc.noTime {
				delete(env.Fields, "timestamp")
				if err := testSigner(t, tc.leaf, leafKey).Sign(env); err != nil {
					t.Fatal(err)
				}
			}
			err = v.Verify(env)
			for _, r := range append(tc.reasons, "") {
				wantVerify(t, err, tc.want, r)
			}
		})
	}
}

func writeCRL(t *testing.T, ca *x509.Certificate, key *rsa.PrivateKey, serials ...int64) string {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: y2019, NextUpdate: y2034}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: y2019.AddDate(0, 1, 0)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, key)
	if err != nil {
		t.Fatalf("create crl: %v", err)
	}
	return writePEM(t, "X509 CRL", der)
}

func TestVerifyRoutingPolicy(t *testing.T) {
	key := testKey(t, 2)
	cert := testCert{cn: "bodhi-app01", serial: 1, notBefore: y2014, notAfter: y2034, key: key}.create(t)
	signer := testSigner(t, cert, key)
	const topic = "org.fedoraproject.prod.bodhi.update.comment"
	for _, tc := range []struct {
		name     string
		policy   map[string][]string
		nitpicky bool
		topic    string
		want     error
		reason   string
	}{
		{name: "no policy", topic: topic},
		{name: "CN listed for the topic", policy: map[string][]string{topic: {"koji", "bodhi-app01"}}, topic: topic},
		{name: "CN not listed for the topic", policy: map[string][]string{topic: {"koji"}}, topic: topic,
			want: ErrRoutingPolicy, reason: "certificate CN bodhi-app01 not allowed for topic " + topic},
		{name: "topic listed with nobody", policy: map[string][]string{topic: {}}, topic: topic, want: ErrRoutingPolicy, reason: "not allowed"},
		{name: "unknown topic allowed", policy: map[string][]string{"other": {"koji"}}, topic: topic},
		{name: "unknown topic refused when nitpicky", policy: map[string][]string{"other": {"bodhi-app01"}}, nitpicky: true, topic: topic,
			want: ErrRoutingPolicy, reason: "has no routing policy entry"},
		{name: "topic matched exactly, not by prefix", policy: map[string][]string{"org.fedoraproject.prod.bodhi": {"bodhi-app01"}}, nitpicky: true, topic: topic,
			want: ErrRoutingPolicy, reason: "has no routing policy entry"},
		{name: "nitpicky with the CN listed", policy: map[string][]string{topic: {"bodhi-app01"}}, nitpicky: true, topic: topic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(VerifyOptions{RoutingPolicy: tc.policy, Nitpicky: tc.nitpicky})
			if err != nil {
				t.Fatal(err)
			}
			wantVerify(t, v.Verify(signedAt(t, signer, tc.topic, y2019)), tc.want, tc.reason)
		})
	}
}

func TestNewVerifierErrors(t *testing.T) {
	caKey := testKey(t, 0)
	ca := testCert{cn: "fedmsg", serial: 1, notBefore: y2014, notAfter: y2034, isCA: true, key: caKey}.create(t)
	other := testCert{cn: "other", serial: 2, notBefore: y2014, notAfter: y2034, isCA: true, key: testKey(t, 1)}.create(t)
	caFile := writePEM(t, "CERTIFICATE", ca.Raw)
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.pem")
	if err := os.WriteFile(corrupt, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		"# a comment\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts VerifyOptions
		want string
	}{
		{"CA file missing", VerifyOptions{CAFile: filepath.Join(dir, "nope.pem")}, "nope.pem: no such file"},
		{"CA file without certificates", VerifyOptions{CAFile: writePEM(t, "PUBLIC KEY", []byte{1})}, "no PEM certificate"},
		{"corrupt certificate names its line", VerifyOptions{CAFile: corrupt}, "corrupt.pem:"},
		{"CRL without a CA", VerifyOptions{CRLFile: writeCRL(t, ca, caKey)}, "needs a CA bundle"},
		{"CRL from another CA", VerifyOptions{CAFile: writePEM(t, "CERTIFICATE", other.Raw), CRLFile: writeCRL(t, ca, caKey)}, "is not a CA of the bundle"},
		{"CRL not a CRL", VerifyOptions{CAFile: caFile, CRLFile: caFile}, "load crl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewVerifier = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	// The corrupt block starts on the line after the comment.
	lines := 2 + bytes.Count(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), []byte("\n"))
	if _, err := NewVerifier(VerifyOptions{CAFile: corrupt}); !strings.Contains(err.Error(), fmt.Sprintf("corrupt.pem:%d:", lines)) {
		t.Errorf("error %v does not name line %d", err, lines)
	}
}

func TestSignWritesFedmsgFields(t *testing.T) {
	key := testKey(t, 2)
	cert := testCert{cn: "hark", serial: 1, notBefore: y2014, notAfter: y2034, key: key}.create(t)
	env := signedAt(t, testSigner(t, cert, key), "org.fedoraproject.dev.hark.log", y2019)
	if env.Crypto != "x509" || env.Fields["crypto"] != "x509" {
		t.Errorf("crypto = %q / %v, want x509", env.Crypto, env.Fields["crypto"])
	}
	for name, text := range map[string]string{"signature": env.Signature, "certificate": env.Certificate} {
		if text != env.Fields[name] {
			t.Errorf("%s differs between the typed field and Fields", name)
		}
		if !strings.HasSuffix(text, "\n") {
			t.Errorf("%s lacks its final newline", name)
		}
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		for i, l := range lines {
			if len(l) > 76 || (i < len(lines)-1 && len(l) != 76) {
				t.Errorf("%s line %d has %d columns, want 76 (fewer only on the last)", name, i+1, len(l))
			}
		}
	}
	certPEM, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(env.Certificate, "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}); !bytes.Equal(certPEM, want) {
		t.Errorf("certificate carries\n%s\nwant\n%s", certPEM, want)
	}
	if env.Fields["msg"].(map[string]any)["ratio"] != json.Number("1.5") {
		t.Errorf("ratio = %v, want 1.5 written as Python writes it", env.Fields["msg"].(map[string]any)["ratio"])
	}
}

func TestWrap76(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"short", "abc", "abc\n"},
		{"exactly 76", strings.Repeat("a", 76), strings.Repeat("a", 76) + "\n"},
		{"77", strings.Repeat("a", 77), strings.Repeat("a", 76) + "\na\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wrap76(tc.in); got != tc.want {
				t.Errorf("wrap76 = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadSignerErrors(t *testing.T) {
	key := testKey(t, 2)
	cert := testCert{cn: "hark", serial: 1, notBefore: y2014, notAfter: y2034, key: key}.create(t)
	certFile := writePEM(t, "CERTIFICATE", cert.Raw)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, keyFile, certFile, want string
	}{
		{"PKCS#8 key loads", writePEM(t, "PRIVATE KEY", pkcs8), certFile, ""},
		{"key of another certificate", writePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testKey(t, 1))), certFile, "does not belong to certificate"},
		{"key file not PEM", certFile + ".missing", certFile, "no such file"},
		{"encrypted key", writePEM(t, "ENCRYPTED PRIVATE KEY", []byte{1}), certFile, "not an unencrypted RSA private key"},
		{"certificate file holds a key", writePEM(t, "PRIVATE KEY", pkcs8), writePEM(t, "PRIVATE KEY", pkcs8), "no PEM CERTIFICATE block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSigner(tc.keyFile, tc.certFile)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("LoadSigner = %v, want ok", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("LoadSigner = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// fedmsgX509 is fedmsg.crypto.x509_ng's sign and validate, in Python with
// the libraries fedmsg uses (cryptography, and pyOpenSSL for the chain).
// "sign KEY CERT" signs each stdin message; "validate CA CRL" prints "ok
// CN" or "fail: ..." for each.
const fedmsgX509 = `
import base64, json, sys
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from OpenSSL.crypto import (X509Store, X509StoreContext, X509StoreContextError,
                            load_certificate, load_crl, FILETYPE_PEM, X509StoreFlags)

def dumps(m):
    return json.dumps(m, sort_keys=True, separators=(',', ':'))

def prep(s):
    return '\n'.join(s[x:x+76] for x in range(0, len(s), 76)) + '\n'

def sign(message, key_file, cert_file):
    message['crypto'] = 'x509'
    with open(key_file, 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    signature = key.sign(dumps(message).encode('utf-8'), padding.PKCS1v15(), hashes.SHA1())
    with open(cert_file, 'rb') as f:
        cert_pem = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.PEM)
    message['signature'] = prep(base64.b64encode(signature).decode('ascii'))
    message['certificate'] = prep(base64.b64encode(cert_pem).decode('ascii'))
    return message

def fix_datagrepper_message(message):
    if not ('source_name' in message and 'source_version' in message):
        return message
    message = message.copy()
    del message['source_name']
    del message['source_version']
    if 'headers' in message and not message['headers']:
        del message['headers']
    if 'timestamp' in message:
        message['timestamp'] = int(message['timestamp'])
    return message

def validate(message, ca_file, crl_file):
    signature = base64.b64decode(message['signature'])
    certificate = base64.b64decode(message['certificate'])
    message = {k: v for k, v in message.items() if k not in ('signature', 'certificate')}
    message = fix_datagrepper_message(message)
    store = X509Store()
    store.add_cert(load_certificate(FILETYPE_PEM, open(ca_file, 'rb').read()))
    store.add_crl(load_crl(FILETYPE_PEM, open(crl_file, 'rb').read()))
    store.set_flags(X509StoreFlags.CRL_CHECK | X509StoreFlags.CRL_CHECK_ALL)
    try:
        X509StoreContext(store, load_certificate(FILETYPE_PEM, certificate)).verify_certificate()
    except X509StoreContextError as e:
        return 'fail: chain: %s' % e
    cert = x509.load_pem_x509_certificate(certificate)
    try:
        cert.public_key().verify(signature, dumps(message).encode('utf-8'), padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        return 'fail: signature'
    return 'ok ' + cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value

for line in sys.stdin:
    message = json.loads(line)
    if sys.argv[1] == 'sign':
        print(dumps(sign(message, sys.argv[2], sys.argv[3])))
    else:
        print(validate(message, sys.argv[2], sys.argv[3]))
`

// interopPKI is a CA, a CRL and a publisher certificate valid now, since
// OpenSSL checks the chain at the current time.
type interopPKI struct {
	caFile, crlFile, keyFile, certFile string
	signer                             *Signer
	verifier                           *Verifier
}

func newInteropPKI(t *testing.T) interopPKI {
	t.Helper()
	testpeer.RequirePython(t, "cryptography", "OpenSSL")
	caKey, leafKey := testKey(t, 0), testKey(t, 2)
	now := time.Now().UTC()
	ca := testCert{cn: "hark test CA", serial: 1, notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour), isCA: true, key: caKey}.create(t)
	leaf := testCert{cn: "hark-publisher", serial: 2, notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour), key: leafKey, parent: ca, parentKey: caKey}.create(t)
	p := interopPKI{
		caFile:   writePEM(t, "CERTIFICATE", ca.Raw),
		crlFile:  writeCRL(t, ca, caKey, 99),
		keyFile:  writePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(leafKey)),
		certFile: writePEM(t, "CERTIFICATE", leaf.Raw),
	}
	var err error
	if p.signer, err = LoadSigner(p.keyFile, p.certFile); err != nil {
		t.Fatal(err)
	}
	if p.verifier, err = NewVerifier(VerifyOptions{CAFile: p.caFile, CRLFile: p.crlFile,
		RoutingPolicy: map[string][]string{"org.fedoraproject.dev.hark.log": {"hark-publisher"}}, Nitpicky: true}); err != nil {
		t.Fatal(err)
	}
	return p
}

// interopMessages are unsigned envelopes with the text that tends to break
// signatures: non-ASCII, escapes, floats written unlike Python.
func interopMessages(at time.Time) []string {
	ts := at.Unix()
	return []string{
		fmt.Sprintf(`{"topic":"org.fedoraproject.dev.hark.log","msg":{"log":"héllo 😀 <b>&</b>\n\t\u007f"},"timestamp":%d,"i":1,"msg_id":"%d-6f1c2a52-4bf2-4d9c-9bd8-0f6cbd3e0f11","username":"hark"}`, ts, at.Year()),
		fmt.Sprintf(`{"topic":"org.fedoraproject.dev.hark.log","msg":{"ratio":1.50,"big":1E5,"tiny":0.000001,"n":-0,"list":[1,2.0,{"z":null,"a":true}]},"timestamp":%d,"i":2,"msg_id":"%d-0a6f2f3e-61a3-4ab4-bb1d-7b6c5a1f0e22","username":"hark","headers":{"x":"y"}}`, ts, at.Year()),
	}
}

func TestSignedByHarkVerifiesInFedmsg(t *testing.T) {
	p := newInteropPKI(t)
	var wire [][]byte
	for _, m := range interopMessages(time.Now()) {
		env, err := Decode([]byte(m))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.signer.Sign(env); err != nil {
			t.Fatal(err)
		}
		wire = append(wire, Canonical(env.Fields))
	}
	out := testpeer.RunPython(t, fedmsgX509, append(bytes.Join(wire, []byte("\n")), '\n'), "validate", p.caFile, p.crlFile)
	for i, got := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if got != "ok hark-publisher" {
			t.Errorf("fedmsg's validate on message %d: %s\n%s", i, got, wire[i])
		}
	}
}

// TestSignMatchesFedmsgSign checks both directions at once: PKCS#1 v1.5 is
// deterministic, so fedmsg's sign and hark's Sign of the same message with
// the same key must produce the same bytes, and hark verifies fedmsg's.
func TestSignMatchesFedmsgSign(t *testing.T) {
	p := newInteropPKI(t)
	msgs := interopMessages(time.Now())
	out := testpeer.RunPython(t, fedmsgX509, []byte(strings.Join(msgs, "\n")+"\n"), "sign", p.keyFile, p.certFile)
	for i, fromPython := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		env, err := Decode([]byte(msgs[i]))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.signer.Sign(env); err != nil {
			t.Fatal(err)
		}
		if got := string(Canonical(env.Fields)); got != fromPython {
			t.Errorf("message %d signed by hark\n%s\nby fedmsg\n%s", i, got, fromPython)
		}
		fedmsgSigned, err := Decode([]byte(fromPython))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.verifier.Verify(fedmsgSigned); err != nil {
			t.Errorf("message %d signed by fedmsg: Verify = %v", i, err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	samples := fedmsgSamples(b)
	var envs []*Envelope
	for _, s := range samples {
		if s.signed {
			env, err := Decode(s.envelope)
			if err != nil {
				b.Fatal(err)
			}
			envs = append(envs, env)
		}
	}
	v, err := NewVerifier(VerifyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("hark", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := v.Verify(envs[i%len(envs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The floor: the RSA check alone, with digest, key and signature
	// prepared, so the ratio shows what decoding and canonical JSON add.
	type prepared struct {
		key    *rsa.PublicKey
		digest [20]byte
		sig    []byte
	}
	floor := make([]prepared, len(envs))
	for i, env := range envs {
		cert, err := carriedCertificate(env.Fields)
		if err != nil {
			b.Fatal(err)
		}
		sig, err := wrappedBase64(env.Fields, "signature")
		if err != nil {
			b.Fatal(err)
		}
		body, err := signedBody(env.Fields)
		if err != nil {
			b.Fatal(err)
		}
		floor[i] = prepared{cert.PublicKey.(*rsa.PublicKey), sha1.Sum(body), sig}
	}
	b.Run("baseline=rsa-only", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := floor[i%len(floor)]
			if err := rsa.VerifyPKCS1v15(p.key, crypto.SHA1, p.digest[:], p.sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestLoadRoutingPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          map[string][]string
		wantErr       string
	}{
		{"YAML", "a.b: [koji, bodhi]\nc.d:\n  - pkgs\n", map[string][]string{"a.b": {"koji", "bodhi"}, "c.d": {"pkgs"}}, ""},
		{"JSON as fedmsg writes it", `{"a.b": ["koji"], "c.d": []}`, map[string][]string{"a.b": {"koji"}, "c.d": {}}, ""},
		{"empty file", "", map[string][]string{}, ""},
		{"not a mapping", "- a.b\n", nil, "policy.yaml:1: want a mapping"},
		{"CNs not a list", "a.b: [x]\nc.d: {x: y}\n", nil, "policy.yaml:2: topic c.d: want a list"},
		{"topic twice", "a.b: [x]\n\na.b: [y]\n", nil, "policy.yaml:3: topic a.b listed twice"},
		{"not YAML", "a.b: [x\n", nil, "policy.yaml: yaml: line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadRoutingPolicy(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("LoadRoutingPolicy = %v, %v; want an error saying %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("LoadRoutingPolicy = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
