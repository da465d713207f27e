package delivery_test

import (
	"testing"
	"time"

	"github.com/wneessen/go-mail"

	"hark/delivery"
	"hark/delivery/email"
	"hark/store"
)

// BenchmarkEmailDelivery measures emails per second from the queue to a
// local SMTP server through the whole pipeline (claim, render, send over
// one connection, mark sent) against go-mail's client sending the same
// number of the same emails, rendered once beforehand, over one
// connection with its default settings, in alternating rounds of the
// same run so the machine's noise hits both alike. delivery/raw is the
// ratio of the two rates.
func BenchmarkEmailDelivery(b *testing.B) {
	w := newWorld(b, setup{})
	raw, err := mail.NewClient(w.smtp.Host, mail.WithPort(w.smtp.Port), mail.WithTLSPolicy(mail.NoTLS), mail.WithHELO("localhost"))
	if err != nil {
		b.Fatal(err)
	}
	if err := raw.DialWithContext(w.ctx); err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	// The baseline sends what delivery sends: one of its own emails,
	// rendered once up front.
	mailer, err := email.New(email.Options{Host: w.smtp.Host, Port: w.smtp.Port, TLS: email.TLSNone, From: "hark@example.org"})
	if err != nil {
		b.Fatal(err)
	}
	msg, err := mailer.Message(&delivery.Batch{User: "alice", Destination: w.dest, Location: time.UTC, Items: []delivery.Item{{
		NotificationID: 1, MsgID: "2026-msg-0001", Topic: "org.fedoraproject.prod.bodhi.update.comment", App: "bodhi",
		Subtitle: "update 2026-msg-0001", Usernames: []string{"ralph"}, Packages: []string{"fedmsg"}, Time: w.now, Queued: w.now,
		FilterID: w.filter.ID, FilterName: w.filter.Name, FilterLink: "https://hark.example.org/filters/1",
		Unsubscribe: "https://hark.example.org/unsubscribe/" + w.d.UnsubscribeToken(w.user.ID, w.filter.ID, w.filter.Created),
	}}})
	if err != nil {
		b.Fatal(err)
	}

	const round = 100
	var viaDelivery, viaRaw time.Duration
	sent := 0
	b.ResetTimer()
	for sent < b.N {
		n := min(round, b.N-sent)
		b.StopTimer()
		w.queue(n)
		b.StartTimer()
		start := time.Now()
		for target := int64(sent + n); w.d.Stats().Notifications[store.KindEmail]["sent"] < target; {
			w.pass(0)
		}
		viaDelivery += time.Since(start)
		start = time.Now()
		for range n {
			if err := raw.Send(msg); err != nil {
				b.Fatal(err)
			}
		}
		viaRaw += time.Since(start)
		sent += n
	}
	b.StopTimer()
	if m, _ := w.mails(); m != 2*b.N {
		b.Fatalf("server got %d mails, want %d", m, 2*b.N)
	}
	dRate, rRate := float64(b.N)/viaDelivery.Seconds(), float64(b.N)/viaRaw.Seconds()
	b.ReportMetric(dRate, "delivered/s")
	b.ReportMetric(rRate, "raw/s")
	b.ReportMetric(dRate/rRate, "delivery/raw")
}

// BenchmarkSentJournal measures emails per second through the whole
// pipeline, as BenchmarkEmailDelivery does, with the sent journal in a
// file against the journal in the store (a row per send), on PostgreSQL
// and on SQLite, in alternating rounds of the same run. pg-store/file
// and sqlite-store/file are the ratios of the rates on each backend.
func BenchmarkSentJournal(b *testing.B) {
	inStore := func(o *delivery.Options) { o.JournalStore, o.SentJournal = o.Store.(store.SentJournal), "" }
	worlds := []struct {
		name string
		w    *world
		took time.Duration
	}{
		{name: "pg-file", w: newWorld(b, setup{postgres: true})},
		{name: "pg-store", w: newWorld(b, setup{postgres: true, opts: inStore})},
		{name: "sqlite-file", w: newWorld(b, setup{})},
		{name: "sqlite-store", w: newWorld(b, setup{opts: inStore})},
	}
	const round = 100
	sent := 0
	b.ResetTimer()
	for sent < b.N {
		n := min(round, b.N-sent)
		for i := range worlds {
			w := worlds[i].w
			b.StopTimer()
			w.queue(n)
			b.StartTimer()
			start := time.Now()
			for target := int64(sent + n); w.d.Stats().Notifications[store.KindEmail]["sent"] < target; {
				w.pass(0)
			}
			worlds[i].took += time.Since(start)
		}
		sent += n
	}
	b.StopTimer()
	rate := map[string]float64{}
	for _, x := range worlds {
		if m, _ := x.w.mails(); m != b.N {
			b.Fatalf("%s: server got %d mails, want %d", x.name, m, b.N)
		}
		rate[x.name] = float64(b.N) / x.took.Seconds()
		b.ReportMetric(rate[x.name], x.name+"/s")
	}
	b.ReportMetric(rate["pg-store"]/rate["pg-file"], "pg-store/file")
	b.ReportMetric(rate["sqlite-store"]/rate["sqlite-file"], "sqlite-store/file")
}
