package testpeer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresBin is where Debian keeps PostgreSQL 15's server programs.
const postgresBin = "/usr/lib/postgresql/15/bin"

// PrivatePostgres is a PostgreSQL server of one test's own, in its
// t.TempDir() on a free loopback port: a test that stops or restarts
// PostgreSQL uses it, never the machine's shared server.
type PrivatePostgres struct {
	// URL is its postgres database, as user postgres (trust).
	URL string

	t     testing.TB
	data  string
	sock  string
	port  int
	owner *syscall.Credential // nil when the test does not run as root
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd has exited
	log   *os.File
	// watchdog's end kills the server: see Start.
	watchdog io.WriteCloser
}

// StartPrivatePostgres makes a database cluster in t.TempDir() with
// initdb and starts its server; it stops when the test ends. PostgreSQL
// refuses to run as root, so under root the programs run as the postgres
// user, who owns the cluster's directories. Without the programs the test
// skips, or fails when CI=true.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	p, err := initPrivatePostgres(t)
	if err != nil {
		Unavailable(t, "a private PostgreSQL server ("+postgresBin+")", "postgresql-15", err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if err := p.stopLocked(); err != nil {
			t.Error(err)
		}
	})
	p.Start()
	return p
}

func initPrivatePostgres(t testing.TB) (*PrivatePostgres, error) {
	if _, err := os.Stat(filepath.Join(postgresBin, "postgres")); err != nil {
		return nil, err
	}
	dir := t.TempDir()
	p := &PrivatePostgres{t: t, data: filepath.Join(dir, "data"), sock: filepath.Join(dir, "sock")}
	for _, d := range []string{p.data, p.sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			return nil, err
		}
		p.owner = cred
		// The postgres user must reach its directories through the
		// test's, which only root may enter.
		for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o711); err != nil {
				return nil, err
			}
		}
		for _, d := range []string{p.data, p.sock} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find free port: %w", err)
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	initdb := p.command(filepath.Join(postgresBin, "initdb"), "-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, tail(out))
	}
	if p.log, err = os.Create(filepath.Join(dir, "postgres.log")); err != nil {
		return nil, err
	}
	t.Cleanup(func() { p.log.Close() })
	return p, nil
}

// postgresUser is the credential of the postgres system user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// command runs one of PostgreSQL's programs as the cluster's owner.
func (p *PrivatePostgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.owner}
	return cmd
}

// Start starts the server and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatal("private PostgreSQL: Start while it runs")
	}
	// No fsync: a test's data need not outlive a power cut, and the
	// machine's disk is shared.
	p.cmd = p.command(filepath.Join(postgresBin, "postgres"), "-D", p.data, "-p", strconv.Itoa(p.port), "-k", p.sock,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.cmd = nil
		p.t.Fatalf("start private PostgreSQL: %v", err)
	}
	done := make(chan struct{})
	p.done = done
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(p.cmd)
	// A watchdog ends the server when the test binary ends without
	// stopping it (a panic, a timeout, a kill): its standard input is a
	// pipe only this process holds.
	watchdog := exec.Command("/bin/sh", "-c", fmt.Sprintf("cat >/dev/null; kill -9 -%d", p.cmd.Process.Pid))
	var err error
	if p.watchdog, err = watchdog.StdinPipe(); err == nil {
		err = watchdog.Start()
	}
	if err != nil {
		p.t.Fatalf("start private PostgreSQL watchdog: %v", err)
	}
	if err := p.waitReady(30 * time.Second); err != nil {
		p.t.Fatal(err)
	}
}

// waitReady polls the server until it accepts a connection.
func (p *PrivatePostgres) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, p.URL)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("private PostgreSQL exited at start: %v; see %s", err, p.log.Name())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("private PostgreSQL not ready within %v: %w; see %s", within, err, p.log.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts the server down fast (SIGINT: clients are disconnected,
// open transactions roll back) and waits until it has exited.
func (p *PrivatePostgres) Stop() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		p.t.Fatal("private PostgreSQL: Stop while it is stopped")
	}
	if err := p.stopLocked(); err != nil {
		p.t.Fatal(err)
	}
}

// Restart stops the server and starts it again on the same port and data.
func (p *PrivatePostgres) Restart() {
	p.t.Helper()
	p.Stop()
	p.Start()
}

func (p *PrivatePostgres) stopLocked() error {
	if p.cmd == nil {
		return nil
	}
	defer func() { p.cmd = nil; p.watchdog.Close() }()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop private PostgreSQL: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("private PostgreSQL did not stop within 30s; killed; see %s", p.log.Name())
	}
}
