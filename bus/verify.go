package bus

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Reasons a message fails verification. Verify's errors wrap exactly one
// of them (test with errors.Is) and read as a sentence a person can act on.
var (
	ErrNotSigned         = errors.New("message is not signed")
	ErrUnsupportedCrypto = errors.New("unsupported crypto backend")
	ErrMalformedSigning  = errors.New("malformed signature or certificate")
	ErrBadSignature      = errors.New("signature does not match")
	ErrUntrusted         = errors.New("certificate not issued by a trusted CA")
	ErrCertificateTime   = errors.New("certificate not valid at message time")
	ErrRevoked           = errors.New("certificate revoked")
	ErrRoutingPolicy     = errors.New("certificate not allowed for topic")
)

// verifyError is a verification failure: reason is the whole sentence,
// kind the sentinel it belongs to.
type verifyError struct {
	kind   error
	reason string
}

func (e *verifyError) Error() string { return e.reason }
func (e *verifyError) Unwrap() error { return e.kind }

func fail(kind error, format string, args ...any) error {
	return &verifyError{kind: kind, reason: fmt.Sprintf(format, args...)}
}

// VerifyOptions configures a Verifier. The zero value checks only that the
// signature matches the certificate the message carries.
type VerifyOptions struct {
	// CAFile is a PEM bundle of trusted CA certificates. When set, the
	// message's certificate must be signed by one of them (SHA-1 included,
	// as Fedora's are), and both must be valid at the message's own
	// timestamp: Fedora's certificates have expired since, its messages
	// have not become forgeries.
	CAFile string
	// CRLFile is a certificate revocation list (PEM or DER) signed by a CA
	// of CAFile. A certificate it lists is refused whatever the message's
	// time, since a stolen key can sign any timestamp.
	CRLFile string
	// RoutingPolicy maps a full topic to the certificate CNs allowed to
	// sign messages on it, as fedmsg's routing_policy.
	RoutingPolicy map[string][]string
	// Nitpicky refuses topics RoutingPolicy does not list, as fedmsg's
	// routing_nitpicky; otherwise they are allowed.
	Nitpicky bool
	// GPGKeyring is a file of OpenPGP public keys (armored or binary).
	// When set, messages with crypto "gpg" are checked against it, as
	// Debian's fedmsg does; without it they are refused as unsupported.
	GPGKeyring string
	// RequireCA refuses X.509 messages when CAFile is empty, instead of
	// only checking them against the certificate they carry: a service
	// that trusts GnuPG keys alone must not accept a self-made certificate.
	RequireCA bool
}

// Verifier checks fedmsg X.509 signatures the way fedmsg.crypto.x509 does.
// It is safe for concurrent use.
type Verifier struct {
	roots    []*x509.Certificate
	revoked  map[string]map[string]time.Time // CA raw subject → serial → revocation time
	policy   map[string][]string
	nitpicky bool
	gpg      *gpgVerifier
	// noX509 refuses X.509 messages: RequireCA without a CA bundle.
	noX509 bool

	// certs caches parsed carried certificates by their wire text: a bus
	// has a few hundred publishers, and parsing a certificate costs more
	// than the RSA check itself.
	certsMu sync.Mutex
	certs   map[string]*x509.Certificate
}

// certCacheSize bounds the certificate cache; when full it starts over,
// which only costs re-parsing.
const certCacheSize = 1024

// NewVerifier loads the CA bundle and CRL named by opts.
func NewVerifier(opts VerifyOptions) (*Verifier, error) {
	v := &Verifier{policy: opts.RoutingPolicy, nitpicky: opts.Nitpicky, noX509: opts.RequireCA && opts.CAFile == ""}
	if opts.GPGKeyring != "" {
		keys, err := LoadKeyring(opts.GPGKeyring)
		if err != nil {
			return nil, err
		}
		v.gpg = &gpgVerifier{keyring: keys, now: time.Now}
	}
	if opts.CAFile != "" {
		roots, err := loadCABundle(opts.CAFile)
		if err != nil {
			return nil, err
		}
		v.roots = roots
	}
	if opts.CRLFile != "" {
		if opts.CAFile == "" {
			return nil, fmt.Errorf("load crl %s: a CRL needs a CA bundle to check who signed it", opts.CRLFile)
		}
		if err := v.loadCRL(opts.CRLFile); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func loadCABundle(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load ca bundle: %w", err)
	}
	var roots []*x509.Certificate
	for rest := data; ; {
		start := bytes.Index(rest, []byte("-----BEGIN"))
		if start < 0 {
			break
		}
		line := 1 + bytes.Count(data[:len(data)-len(rest)+start], []byte("\n"))
		var block *pem.Block
		block, rest = pem.Decode(rest[start:])
		if block == nil {
			return nil, fmt.Errorf("load ca bundle %s:%d: unterminated PEM block", path, line)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load ca bundle %s:%d: %w", path, line, err)
		}
		roots = append(roots, cert)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("load ca bundle %s: no PEM certificate in the file", path)
	}
	return roots, nil
}

func (v *Verifier) loadCRL(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load crl: %w", err)
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		der = block.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("load crl %s: %w", path, err)
	}
	for _, ca := range v.roots {
		// RevocationList.CheckSignatureFrom accepts SHA-1, unlike
		// Certificate.CheckSignatureFrom.
		if !bytes.Equal(crl.RawIssuer, ca.RawSubject) || crl.CheckSignatureFrom(ca) != nil {
			continue
		}
		serials := make(map[string]time.Time, len(crl.RevokedCertificateEntries))
		for _, e := range crl.RevokedCertificateEntries {
			serials[e.SerialNumber.String()] = e.RevocationTime
		}
		v.revoked = map[string]map[string]time.Time{string(ca.RawSubject): serials}
		return nil
	}
	return fmt.Errorf("load crl %s: issuer %s is not a CA of the bundle, or did not sign it", path, crl.Issuer)
}

// Verify reports whether env carries a valid fedmsg signature. An X.509
// one is checked in the order fedmsg checks: the signature over the
// canonical JSON, then (with a CA bundle) the chain, validity at the
// message's time and revocation, then the routing policy. A GnuPG one
// (crypto "gpg") is checked against the keyring. A nil error means the
// message is authentic.
func (v *Verifier) Verify(env *Envelope) error {
	if c, ok := env.Fields["crypto"].(string); ok && c == "gpg" {
		if v.gpg == nil {
			return fail(ErrUnsupportedCrypto, "crypto is \"gpg\" and no gpg keyring is configured to check it")
		}
		return v.gpg.verify(env)
	} else if ok && c != "x509" {
		return fail(ErrUnsupportedCrypto, "crypto is %q; only x509 and gpg signatures can be verified", c)
	}
	if v.noX509 {
		return fail(ErrUntrusted, "message is signed with X.509 and no CA bundle is configured to trust")
	}
	sig, err := wrappedBase64(env.Fields, "signature")
	if err != nil {
		return err
	}
	cert, err := v.certificate(env.Fields)
	if err != nil {
		return err
	}
	body, err := signedBody(env.Fields)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fail(ErrMalformedSigning, "certificate key is %s; fedmsg signatures are RSA", cert.PublicKeyAlgorithm)
	}
	digest := sha1.Sum(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, digest[:], sig); err != nil {
		return fail(ErrBadSignature, "signature does not match (certificate CN %s)", commonName(cert))
	}
	if v.roots != nil {
		if err := v.checkChain(cert, env); err != nil {
			return err
		}
	}
	return v.checkPolicy(env.Topic, commonName(cert))
}

// wrappedBase64 decodes a field fedmsg wraps at 76 columns. Go's decoder
// skips only \r and \n, so other whitespace is stripped too.
func wrappedBase64(fields map[string]any, key string) ([]byte, error) {
	raw, ok := fields[key]
	if !ok {
		return nil, fail(ErrNotSigned, "message is not signed: no %s field", key)
	}
	text, ok := raw.(string)
	if !ok {
		return nil, fail(ErrMalformedSigning, "%s is a %s, want a base64 string", key, jsonKind(raw))
	}
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return nil, fail(ErrMalformedSigning, "%s is not base64: %v", key, err)
	}
	return data, nil
}

// certificate is carriedCertificate through the cache.
func (v *Verifier) certificate(fields map[string]any) (*x509.Certificate, error) {
	text, _ := fields["certificate"].(string)
	v.certsMu.Lock()
	cert, ok := v.certs[text]
	v.certsMu.Unlock()
	if ok {
		return cert, nil
	}
	cert, err := carriedCertificate(fields)
	if err != nil {
		return nil, err
	}
	v.certsMu.Lock()
	if v.certs == nil || len(v.certs) >= certCacheSize {
		v.certs = make(map[string]*x509.Certificate)
	}
	v.certs[text] = cert
	v.certsMu.Unlock()
	return cert, nil
}

func carriedCertificate(fields map[string]any) (*x509.Certificate, error) {
	pemText, err := wrappedBase64(fields, "certificate")
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(pemText)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fail(ErrMalformedSigning, "certificate is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fail(ErrMalformedSigning, "certificate does not parse: %v", err)
	}
	return cert, nil
}

// signedBody is the text a fedmsg signature covers: the canonical JSON of
// the envelope without signature and certificate, undoing what datagrepper
// adds to messages it serves (fedmsg.crypto.utils.fix_datagrepper_message):
// when both source_name and source_version are present they are dropped,
// a falsy headers is dropped, and the timestamp is truncated to an int.
func signedBody(fields map[string]any) ([]byte, error) {
	signed := make(map[string]any, len(fields))
	for k, v := range fields {
		if k != "signature" && k != "certificate" {
			signed[k] = v
		}
	}
	_, hasName := signed["source_name"]
	_, hasVersion := signed["source_version"]
	if hasName && hasVersion {
		delete(signed, "source_name")
		delete(signed, "source_version")
		if h, ok := signed["headers"]; ok && pythonFalsy(h) {
			delete(signed, "headers")
		}
		if ts, ok := signed["timestamp"]; ok {
			n, err := pythonInt(ts)
			if err != nil {
				return nil, fail(ErrMalformedSigning, "timestamp: %v", err)
			}
			signed["timestamp"] = n
		}
	}
	return Canonical(signed), nil
}

// pythonFalsy is Python's "not v" for a decoded JSON value.
func pythonFalsy(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case json.Number:
		f, err := v.Float64()
		return err == nil && f == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// pythonInt is Python's int() of a decoded JSON number: an integer keeps
// its exact text, a float is read as a float64 and truncated toward zero.
func pythonInt(v any) (json.Number, error) {
	n, ok := v.(json.Number)
	if !ok {
		return "", fmt.Errorf("%s is not a number", jsonKind(v))
	}
	if !strings.ContainsAny(string(n), ".eE") {
		return pythonNumber(n)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return "", fmt.Errorf("%s does not fit a float64", n)
	}
	t := math.Trunc(f)
	if t == 0 {
		return "0", nil // also for -0.5, which Python truncates to 0, not -0
	}
	return json.Number(strconv.FormatFloat(t, 'f', 0, 64)), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, int, int64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// checkChain accepts cert when a CA of the bundle signed it and both were
// valid at the message's time, and the CRL does not list it. Every
// certificate of the bundle is a trust anchor, as in Go's root pools.
func (v *Verifier) checkChain(cert *x509.Certificate, env *Envelope) error {
	at, err := messageTime(env)
	if err != nil {
		return err
	}
	if err := validAt(cert, "certificate", at); err != nil {
		return err
	}
	var refused error
	for _, ca := range v.roots {
		if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
			continue
		}
		if err := checkIssuedBy(cert, ca); err != nil {
			refused = err
			continue
		}
		if err := validAt(ca, "CA certificate "+commonName(ca), at); err != nil {
			return err
		}
		if when, ok := v.revoked[string(ca.RawSubject)][cert.SerialNumber.String()]; ok {
			return fail(ErrRevoked, "certificate revoked: CN %s serial %s revoked at %s",
				commonName(cert), cert.SerialNumber, when.UTC().Format(time.RFC3339))
		}
		return nil
	}
	if refused != nil {
		return refused
	}
	return fail(ErrUntrusted, "certificate CN %s is issued by %s, which is not in the CA bundle", commonName(cert), cert.Issuer)
}

// checkIssuedBy checks ca signed cert. Certificate.CheckSignatureFrom
// refuses SHA-1, which Fedora's CA used, so its constraint checks are
// repeated here and the signature checked with CheckSignature, which
// accepts SHA-1 (and still refuses MD5).
func checkIssuedBy(cert, ca *x509.Certificate) error {
	if ca.Version == 3 && !ca.BasicConstraintsValid || ca.BasicConstraintsValid && !ca.IsCA {
		return fail(ErrUntrusted, "certificate issuer %s is not a CA certificate", commonName(ca))
	}
	if ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fail(ErrUntrusted, "certificate issuer %s may not sign certificates", commonName(ca))
	}
	if err := ca.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return fail(ErrUntrusted, "certificate CN %s is not signed by CA %s: %v", commonName(cert), commonName(ca), err)
	}
	return nil
}

func messageTime(env *Envelope) (time.Time, error) {
	if _, ok := env.Fields["timestamp"].(json.Number); !ok {
		return time.Time{}, fail(ErrCertificateTime, "message has no numeric timestamp to check the certificate's validity at")
	}
	sec, frac := math.Modf(env.Timestamp)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func validAt(cert *x509.Certificate, what string, at time.Time) error {
	const layout = time.RFC3339
	if at.Before(cert.NotBefore) {
		return fail(ErrCertificateTime, "%s not valid before %s, after message time %s",
			what, cert.NotBefore.UTC().Format(layout), at.Format(layout))
	}
	if at.After(cert.NotAfter) {
		return fail(ErrCertificateTime, "%s expired at %s before message time %s",
			what, cert.NotAfter.UTC().Format(layout), at.Format(layout))
	}
	return nil
}

// checkPolicy is fedmsg's validate_policy: a topic the policy lists may be
// signed only by the CNs listed for it; any other topic is allowed unless
// the verifier is nitpicky.
func (v *Verifier) checkPolicy(topic, cn string) error {
	allowed, listed := v.policy[topic]
	switch {
	case listed && !slices.Contains(allowed, cn):
		return fail(ErrRoutingPolicy, "certificate CN %s not allowed for topic %s (allowed: %s)",
			cn, topic, strings.Join(allowed, ", "))
	case !listed && v.nitpicky:
		return fail(ErrRoutingPolicy, "topic %s has no routing policy entry and the policy is nitpicky", topic)
	}
	return nil
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// commonName is the subject's first CN, the one fedmsg reads; Go's
// Subject.CommonName holds the last.
func commonName(cert *x509.Certificate) string {
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			if s, ok := atv.Value.(string); ok {
				return s
			}
		}
	}
	return "(no CN)"
}

// LoadRoutingPolicy reads a routing policy file: a YAML (or JSON) mapping
// from a full topic to the list of certificate CNs allowed to sign it, as
// fedmsg's routing_policy dict. Errors name the file and line.
func LoadRoutingPolicy(path string) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load routing policy: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("load routing policy %s: %w", path, err)
	}
	policy := map[string][]string{}
	if len(doc.Content) == 0 {
		return policy, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("load routing policy %s:%d: want a mapping from topic to a list of certificate CNs", path, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		var cns []string
		if err := value.Decode(&cns); err != nil {
			return nil, fmt.Errorf("load routing policy %s:%d: topic %s: want a list of certificate CNs", path, value.Line, key.Value)
		}
		if _, dup := policy[key.Value]; dup {
			return nil, fmt.Errorf("load routing policy %s:%d: topic %s listed twice", path, key.Line, key.Value)
		}
		policy[key.Value] = cns
	}
	return policy, nil
}
