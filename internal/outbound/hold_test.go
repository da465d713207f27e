package outbound

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDoHoldsLastByteUntilHanded posts to real servers on loopback,
// plain and TLS, small and large bodies: when handed runs, the receiver
// has the request's headers but cannot finish reading its body; once Do
// returns, it read the whole body.
func TestDoHoldsLastByteUntilHanded(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
		size int
	}{
		{"http small", false, 100},
		{"http large", false, 200 << 10},
		{"https small", true, 100},
		{"https large", true, 200 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			complete := make(chan []byte, 1)
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				body, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("receiver: %v", err)
				}
				complete <- body
				w.WriteHeader(http.StatusNoContent)
			})
			srv := httptest.NewUnstartedServer(handler)
			if tc.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			client := NewClient(Options{AllowPrivate: true})
			if tc.tls {
				client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
			}
			body := bytes.Repeat([]byte("x"), tc.size)
			for attempt := range 2 { // the second reuses the connection
				started = make(chan struct{})
				req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				handedCalls := 0
				resp, err := Do(client, req, func() {
					handedCalls++
					<-started
					// Proving that something does not happen needs a
					// bound: the receiver had this long to finish.
					select {
					case <-complete:
						t.Errorf("attempt %d: the receiver read the whole body before handed returned", attempt)
					case <-time.After(100 * time.Millisecond):
					}
				})
				if err != nil {
					t.Fatalf("attempt %d: %v", attempt, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent || handedCalls != 1 {
					t.Errorf("attempt %d: status %d, handed called %d times", attempt, resp.StatusCode, handedCalls)
				}
				if got := <-complete; !bytes.Equal(got, body) {
					t.Errorf("attempt %d: the receiver read %d bytes, want %d", attempt, len(got), len(body))
				}
			}
		})
	}
}

// TestDoRequestCutBeforeHandedIsNeverWhole stands for a kill -9 while
// handed runs (before delivery's journal record): the connection goes
// with the held byte, and the receiver reads a cut request, never a
// whole one.
func TestDoRequestCutBeforeHandedIsNeverWhole(t *testing.T) {
	read := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		read <- err
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader(bytes.Repeat([]byte("x"), 1000)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Do(NewClient(Options{AllowPrivate: true}), req, func() {
		cancel() // the process dies: its connection closes
		if err := <-read; err == nil {
			t.Error("the receiver read the whole request before handed returned")
		}
	})
	if err == nil {
		t.Error("Do of a request cut short: no error")
	}
}

// BenchmarkDo posts 1 KiB to a loopback receiver over a kept-alive
// connection, holding the last byte until handed (hold) or not (plain).
func BenchmarkDo(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	client := NewClient(Options{AllowPrivate: true})
	body := bytes.Repeat([]byte("x"), 1024)
	for _, bc := range []struct {
		name   string
		handed func()
	}{{"plain", nil}, {"hold", func() {}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				resp, err := Do(client, req, bc.handed)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
