package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/bus"
)

// verify runs `hark verify` in-process.
func verify(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"verify"}, args...), stdio{strings.NewReader(stdin), &out, &errOut})
	return code, out.String(), errOut.String()
}

// signedSampleLines are the samples file's real signed messages, each
// still carrying the file's annotations.
func signedSampleLines(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"x509_signature_check": "ok"`) {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) != 20 {
		t.Fatalf("%d signed samples, want 20", len(lines))
	}
	return lines
}

// unannotated is a sample line without the file's annotations.
func unannotated(t *testing.T, line string) string {
	t.Helper()
	env, err := bus.Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	delete(env.Fields, "expected")
	delete(env.Fields, "_fixture")
	return string(bus.Canonical(env.Fields))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyCommand(t *testing.T) {
	samples := signedSampleLines(t)
	good := unannotated(t, samples[0])
	topic := "org.fedoraproject.prod.bugzilla.bug.update"
	cn := "bugzilla2fedmsg-bugzilla2fedmsg01.phx2.fedoraproject.org"
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
	}{
		{"all 20 real signatures with annotations stripped", []string{"--strip", "expected", "--strip", "_fixture"},
			strings.Join(samples, "\n") + "\n", 0, strings.Repeat("ok\n", 20)},
		{"annotations are verified as given", nil, samples[0] + "\n", 1, "fail: signature does not match (certificate CN " + cn + ")\n"},
		{"blank lines skipped", nil, "\n" + good + "\n\n", 0, "ok\n"},
		{"malformed line reported, the rest still verified", nil, good + "\n{\"topic\":\"t\"}\n" + good + "\n", 1,
			"ok\nfail: line 2: decode envelope: missing field: msg\nok\n"},
		{"unsigned", nil, `{"topic":"t","msg":{}}` + "\n", 1, "fail: message is not signed: no signature field\n"},
		{"tampered", nil, strings.Replace(good, `"i":5389`, `"i":5390`, 1) + "\n", 1, "fail: signature does not match (certificate CN " + cn + ")\n"},
		{"policy allows the CN", []string{"--policy", writeFile(t, "policy.yaml", topic+": ["+cn+"]\n"), "--nitpicky"}, good + "\n", 0, "ok\n"},
		{"policy refuses the CN", []string{"--policy", writeFile(t, "policy.json", `{"`+topic+`": ["koji"]}`)}, good + "\n", 1,
			"fail: certificate CN " + cn + " not allowed for topic " + topic + " (allowed: koji)\n"},
		{"nitpicky refuses unlisted topics", []string{"--policy", writeFile(t, "policy.yaml", "other.topic: [koji]\n"), "--nitpicky"}, good + "\n", 1,
			"fail: topic " + topic + " has no routing policy entry and the policy is nitpicky\n"},
		{"CA that did not issue Fedora's certificates", []string{"--ca", writeCA(t)}, good + "\n", 1,
			"fail: certificate CN " + cn + " is issued by CN=fedmsg,OU=fedmsg,O=Fedora Project,L=Raleigh,ST=NC,C=US,1.2.840.113549.1.9.1=#0c1761646d696e406665646f726170726f6a6563742e6f7267,2.5.4.41=#13066665646d7367, which is not in the CA bundle\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := verify(t, tc.stdin, tc.args...)
			if code != tc.wantCode || out != tc.wantOut {
				t.Errorf("exit %d, stdout:\n%s\nwant exit %d, stdout:\n%s\nstderr: %s", code, out, tc.wantCode, tc.wantOut, errOut)
			}
		})
	}
}

func TestVerifyCommandSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"CA file missing", []string{"--ca", "/nonexistent/ca.pem"}, 1, "hark verify: load ca bundle: open /nonexistent/ca.pem: no such file or directory"},
		{"CRL without CA", []string{"--crl", writeFile(t, "crl.pem", "")}, 1, "needs a CA bundle"},
		{"policy not a list names file and line", []string{"--policy", writeFile(t, "policy.yaml", "a.b: [x]\nc.d: x\n")}, 1, "policy.yaml:2: topic c.d: want a list of certificate CNs"},
		{"policy topic twice", []string{"--policy", writeFile(t, "policy.yaml", "a.b: [x]\na.b: [y]\n")}, 1, "policy.yaml:2: topic a.b listed twice"},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"file.jsonl"}, 2, `unexpected argument "file.jsonl"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := verify(t, "", tc.args...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// writeCA writes a CA bundle with one self-signed test CA, which
// must not vouch for Fedora's certificates.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hark test CA"},
		NotBefore: time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}
