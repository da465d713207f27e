package testpeer

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// DendriteVersion is the Matrix homeserver tests run: Dendrite builds with
// this Go from the module proxy, runs on SQLite and needs no other peer.
const DendriteVersion = "v0.13.8"

// dendriteSecret is the shared registration secret of the test server.
const dendriteSecret = "hark-test-registration"

// Dendrite is a Matrix homeserver on a free loopback port, server name
// "localhost", with its state under the test's temporary directory.
type Dendrite struct {
	// URL is the homeserver's base URL for clients; it stays the same
	// across Stop and Start.
	URL string
	t   testing.TB
	dir string
	cmd *exec.Cmd
	log *bytes.Buffer
	// done is closed when the running process has exited.
	done chan struct{}
}

// DendriteOptions change the test server's configuration.
type DendriteOptions struct {
	// RateLimit turns the Client-Server API's rate limiting on: after
	// Threshold requests a user waits CooloffMS between them (the
	// homeserver answers 429 with retry_after_ms).
	RateLimit            bool
	Threshold, CooloffMS int
}

var (
	dendriteOnce sync.Once
	dendriteBins string
	dendriteErr  error
)

// dendriteBinaries is the directory holding dendrite, generate-config and
// generate-keys: the ones on PATH (CI installs them with go install), or
// else built once from the module proxy into the user's cache directory,
// where later test runs find them.
func dendriteBinaries() (string, error) {
	dendriteOnce.Do(func() {
		if p, err := exec.LookPath("dendrite"); err == nil {
			dir := filepath.Dir(p)
			if _, err := os.Stat(filepath.Join(dir, "generate-config")); err == nil {
				dendriteBins = dir
				return
			}
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			dendriteErr = fmt.Errorf("find cache directory: %w", err)
			return
		}
		dir := filepath.Join(cache, "hark-testpeer", "dendrite-"+DendriteVersion)
		if _, err := os.Stat(filepath.Join(dir, "generate-keys")); err == nil {
			dendriteBins = dir
			return
		}
		var pkgs []string
		for _, c := range []string{"dendrite", "generate-config", "generate-keys"} {
			pkgs = append(pkgs, "github.com/matrix-org/dendrite/cmd/"+c+"@"+DendriteVersion)
		}
		tmp := dir + ".tmp"
		os.RemoveAll(tmp)
		cmd := exec.Command("go", append([]string{"install"}, pkgs...)...)
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod", "GOWORK=off")
		cmd.Dir = os.TempDir() // outside hark's module
		if out, err := cmd.CombinedOutput(); err != nil {
			dendriteErr = fmt.Errorf("build dendrite %s: %w: %s", DendriteVersion, err, lastLines(out, 20))
			return
		}
		if err := os.Rename(tmp, dir); err != nil {
			dendriteErr = fmt.Errorf("keep dendrite build: %w", err)
			return
		}
		dendriteBins = dir
	})
	return dendriteBins, dendriteErr
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// StartDendrite starts a homeserver and stops it in t.Cleanup. Without
// Dendrite (no Go toolchain or module proxy to build it) the test skips,
// or fails when CI=true.
func StartDendrite(t testing.TB, o DendriteOptions) *Dendrite {
	t.Helper()
	bins, err := dendriteBinaries()
	if err != nil {
		Unavailable(t, "dendrite "+DendriteVersion, "golang (go install github.com/matrix-org/dendrite/cmd/...@"+DendriteVersion+")", err)
	}
	dir := t.TempDir()
	gen := exec.Command(filepath.Join(bins, "generate-config"), "-ci", "-dir", dir, "-server", "localhost")
	conf, err := gen.Output()
	if err != nil {
		t.Fatalf("generate dendrite config: %v", err)
	}
	// The CI defaults keep JetStream and the search index in memory,
	// share a registration secret and log to stderr; hark's tests set
	// the secret, the log level and the rate limit.
	var cfg map[string]any
	if err := yaml.Unmarshal(conf, &cfg); err != nil {
		t.Fatalf("read dendrite config: %v", err)
	}
	client := cfg["client_api"].(map[string]any)
	client["registration_shared_secret"] = dendriteSecret
	// Users come only through the shared secret.
	client["registration_disabled"] = true
	client["rate_limiting"] = map[string]any{"enabled": o.RateLimit, "threshold": o.Threshold, "cooloff_ms": o.CooloffMS}
	cfg["logging"] = []any{map[string]any{"type": "std", "level": "warn"}}
	global := cfg["global"].(map[string]any)
	global["private_key"] = filepath.Join(dir, "matrix_key.pem")
	// Streams on disk, so a restart keeps clients' sync positions.
	global["jetstream"].(map[string]any)["in_memory"] = false
	conf, err = yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dendrite.yaml"), conf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(bins, "generate-keys"), "--private-key", filepath.Join(dir, "matrix_key.pem")).CombinedOutput(); err != nil {
		t.Fatalf("generate dendrite key: %v: %s", err, out)
	}
	d := &Dendrite{URL: fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)), t: t, dir: dir}
	t.Cleanup(d.Stop)
	d.Start()
	return d
}

// Start starts the stopped homeserver again on its port, with its state.
func (d *Dendrite) Start() {
	d.t.Helper()
	bins, _ := dendriteBinaries()
	d.log = &bytes.Buffer{}
	d.cmd = exec.Command(filepath.Join(bins, "dendrite"), "--config", filepath.Join(d.dir, "dendrite.yaml"),
		"--http-bind-address", strings.TrimPrefix(d.URL, "http://"))
	d.cmd.Dir = d.dir
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start dendrite: %v", err)
	}
	done := make(chan struct{})
	d.done = done
	go func() { d.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(d.URL + "/_matrix/client/versions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			d.t.Fatalf("dendrite exited at start:\n%s", d.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			d.t.Fatalf("dendrite did not answer within 90s:\n%s", d.log)
		}
	}
}

// Stop stops the homeserver (SIGTERM, then SIGKILL after 10s); the
// state stays for Start.
func (d *Dendrite) Stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd = nil
}

// Register creates a user through the shared-secret admin endpoint and
// returns its access token and full ID (@name:localhost).
func (d *Dendrite) Register(name, password string, admin bool) (token, userID string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var nonce struct{ Nonce string }
	if err := d.call(ctx, "GET", "/_synapse/admin/v1/register", nil, &nonce); err != nil {
		d.t.Fatalf("register %s: %v", name, err)
	}
	mac := hmac.New(sha1.New, []byte(dendriteSecret))
	role := "notadmin"
	if admin {
		role = "admin"
	}
	mac.Write([]byte(nonce.Nonce + "\x00" + name + "\x00" + password + "\x00" + role))
	var out struct {
		AccessToken string `json:"access_token"`
		UserID      string `json:"user_id"`
	}
	body := map[string]any{"nonce": nonce.Nonce, "username": name, "password": password, "admin": admin, "mac": hex.EncodeToString(mac.Sum(nil))}
	if err := d.call(ctx, "POST", "/_synapse/admin/v1/register", body, &out); err != nil {
		d.t.Fatalf("register %s: %v", name, err)
	}
	return out.AccessToken, out.UserID
}

func (d *Dendrite) call(ctx context.Context, method, path string, body, out any) error {
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.URL+path, r)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b.String())
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
