package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"hark/store"
)

// journal is one destination kind's sent journal: an append-only log
// (a file beside the database, or a table of the store: see journalLog)
// with one record per batch the medium has (the
// notification ids and when), written the moment the sender hands the
// batch over and before the grouped MarkSent (see marks). It is what
// makes delivery exactly once across a kill: a restart marks sent what
// the journal holds and the store does not (replay) before it claims
// anything, instead of sending it again once its lease ran out.
//
// Where a kill falls, for an email (delivery/email writes the end of
// data on a corked socket, calls Batch.Handed, which writes the record,
// then uncorks and reads the server's reply):
//
//   - before the end of data is written: the server has no whole message
//     and drops the transaction; nothing is journaled; the notification
//     is sent once its lease ran out. Once.
//   - between the end of data and the record: the kernel sends the corked
//     end of data as it closes the socket, the server has the message, the
//     journal does not; it is sent again (same Message-ID). A duplicate,
//     in a window of a few instructions between two system calls, with
//     nothing woken in between (without the cork, writing the end of data
//     wakes the server, which can take the CPU and store the message
//     while this process waits to write the record; implicit TLS, where
//     go-mail dials, goes uncorked).
//   - between the record and the server's reply: the journal says sent.
//     Once, unless the server was about to refuse the message after its
//     data (a content filter, a full queue): then it is lost, the one
//     loss. Recording only after the reply would move every kill during
//     the server's handling of the data (most of a send's time on a real
//     relay) to the duplicate side instead; a refusal seen by a live
//     process takes the batch off the journal (settled).
//   - after the reply, before the grouped mark commits: replayed. Once.
//   - after the mark, before the truncation: the replay finds it sent.
//
// A webhook or ntfy request (internal/outbound.Do) is written but its
// last byte, journaled, and only then completed: a kill before the
// record leaves the receiver a cut request it cannot read whole (sent
// again, once); a kill after it, a journaled one (not sent again); a kill
// between the record and the last byte's write, two system calls apart,
// loses it. No duplicate window, unlike email's, whose corked end of data
// the kernel still sends as it closes the socket.
//
// An IRC batch is journaled when Send returns, its lines written to the
// socket: a kill between the last line and the record, or in the middle
// of a batch of several lines, repeats the batch.
//
// In a file, records are written with a plain write(2), no fsync: SQLite
// runs synchronous=NORMAL in WAL mode, so a killed process keeps both
// the journal and the last commits, and only a power loss can lose
// either. In the store (PostgreSQL, where delivery processes may run on
// other machines than the one whose disk a file would be on), a record
// is a row, committed before the send goes on: its write is a round trip
// to the server, so the duplicate window above is that round trip rather
// than a write(2). Once every id written is marked sent (or its send
// failed), the log is truncated, so it holds a few records at most.
//
// A file's record is one line: the time in Unix milliseconds, the ids joined by
// commas, and a CRC-32 of the two, e.g. "1767225600000 17,18 1a2b3c4d".
// A line without its newline (a write cut short) or whose CRC does not
// match (garbage a power loss left) is skipped.
type journal struct {
	log journalLog

	mu      sync.Mutex
	pending map[int64]bool // written, not yet marked sent nor failed
	dirty   bool           // the log may hold records

	// run is held for a whole Pass of the journal's kind: the replay at
	// its start must not meet another pass's sends.
	run sync.Mutex
}

// journalLog is where a journal's records are kept: a file beside the
// database (fileLog, SQLite's: a write(2) costs less than the send) or
// the store (storeLog, PostgreSQL's: a process on another machine
// taking a partition over reads it).
type journalLog interface {
	// append records that the medium has ids since at.
	append(ctx context.Context, ids []int64, at time.Time) error
	// read is what the log records: when each id was sent (the last
	// record of an id wins), and how many records were skipped as torn
	// or corrupt.
	read(ctx context.Context) (sent map[int64]time.Time, skipped int, err error)
	// clear drops every record appended or read so far.
	clear(ctx context.Context) error
	// String names the log in delivery's log.
	String() string
	close() error
}

// openJournal opens (creating) the journal file at path. A journal left
// with records by a previous process is dirty: replay it before sending.
func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sent journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open sent journal: %w", err)
	}
	return newJournal(&fileLog{path: path, f: f}, st.Size() > 0), nil
}

// openStoreJournal opens instance's kind journal in st. One left with
// records by a previous process is dirty: replay it before sending.
func openStoreJournal(ctx context.Context, st store.SentJournal, instance, kind string) (*journal, error) {
	recs, err := st.SentRecords(ctx, instance, kind)
	if err != nil {
		return nil, fmt.Errorf("open sent journal: %w", err)
	}
	return newJournal(&storeLog{st: st, instance: instance, kind: kind}, len(recs) > 0), nil
}

func newJournal(log journalLog, dirty bool) *journal {
	return &journal{log: log, pending: map[int64]bool{}, dirty: dirty}
}

// close closes the log; the journal is not used afterwards.
func (j *journal) close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.log.close()
}

// sent records that the medium has ids since at. A nil journal (none
// configured) records nothing.
func (j *journal) sent(ctx context.Context, ids []int64, at time.Time) error {
	if j == nil || len(ids) == 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.dirty = true // even a failed write may have left part of a record
	if err := j.log.append(ctx, ids, at); err != nil {
		return err
	}
	for _, id := range ids {
		j.pending[id] = true
	}
	return nil
}

// settled forgets ids, now marked sent in the store or failed after all,
// and truncates the journal once nothing written is pending.
func (j *journal) settled(ctx context.Context, ids []int64) error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		delete(j.pending, id)
	}
	if len(j.pending) > 0 || !j.dirty {
		return nil
	}
	return j.truncate(ctx)
}

// truncate empties the log; called with mu held.
func (j *journal) truncate(ctx context.Context) error {
	if err := j.log.clear(ctx); err != nil {
		return err
	}
	j.dirty = false
	clear(j.pending)
	return nil
}

// needsReplay says whether the log may hold records no pass is about
// to settle: left by a killed process, by a mark that failed, or by a
// write cut short. Called at the start of a pass, when nothing is in
// flight.
func (j *journal) needsReplay() bool {
	if j == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dirty
}

// fileLog is a journal's records in a file, one line each (see
// appendRecord). Its f is nil when it is only read: a peer's.
type fileLog struct {
	path string
	f    *os.File
	buf  []byte
}

func (l *fileLog) append(_ context.Context, ids []int64, at time.Time) error {
	l.buf = appendRecord(l.buf[:0], ids, at)
	if _, err := l.f.Write(l.buf); err != nil {
		return fmt.Errorf("write sent journal: %w", err)
	}
	return nil
}

func (l *fileLog) read(context.Context) (map[int64]time.Time, int, error) {
	return readJournal(l.path)
}

func (l *fileLog) clear(context.Context) error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate sent journal: %w", err)
	}
	return nil
}

func (l *fileLog) String() string { return l.path }

func (l *fileLog) close() error { return l.f.Close() }

// storeLog is a journal's records in the store (store.SentJournal), as
// instance's for kind. A record's write is one INSERT: on PostgreSQL
// about a loopback round trip, which the email's corked end of data and
// a webhook's held last byte wait for (see the duplicate window above).
type storeLog struct {
	st             store.SentJournal
	instance, kind string
	last           int64 // the newest record appended or read: what clear settles up to
}

// storeWriteTimeout bounds a journal write or read in the store. The
// write comes after the medium has the batch: it must not be given up
// with the pass's context (a shutdown), only when the store is gone.
const storeWriteTimeout = 10 * time.Second

func (l *storeLog) append(ctx context.Context, ids []int64, at time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	id, err := l.st.AppendSent(ctx, l.instance, l.kind, ids, at)
	if err != nil {
		return fmt.Errorf("write sent journal: %w", err)
	}
	l.last = max(l.last, id)
	return nil
}

func (l *storeLog) read(ctx context.Context) (map[int64]time.Time, int, error) {
	recs, err := l.st.SentRecords(ctx, l.instance, l.kind)
	if err != nil {
		return nil, 0, fmt.Errorf("read sent journal: %w", err)
	}
	sent := map[int64]time.Time{}
	for _, r := range recs {
		for _, id := range r.IDs {
			sent[id] = r.At
		}
		l.last = max(l.last, r.ID)
	}
	return sent, 0, nil
}

func (l *storeLog) clear(ctx context.Context) error {
	if l.last == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	if err := l.st.SettleSent(ctx, l.instance, l.kind, l.last); err != nil {
		return fmt.Errorf("truncate sent journal: %w", err)
	}
	return nil
}

func (l *storeLog) String() string { return "store:" + l.instance + "." + l.kind }

func (l *storeLog) close() error { return nil }

// appendRecord appends the record of ids sent at to buf.
func appendRecord(buf []byte, ids []int64, at time.Time) []byte {
	start := len(buf)
	buf = strconv.AppendInt(buf, at.UnixMilli(), 10)
	for i, id := range ids {
		sep := byte(',')
		if i == 0 {
			sep = ' '
		}
		buf = strconv.AppendInt(append(buf, sep), id, 10)
	}
	sum := crc32.ChecksumIEEE(buf[start:])
	buf = append(buf, ' ')
	buf = append(buf, fmt.Sprintf("%08x", sum)...)
	return append(buf, '\n')
}

// readJournal is what the journal at path records: when each id was
// sent (the last record of an id wins), and how many lines were skipped
// as torn or corrupt. A missing file records nothing.
func readJournal(path string) (sent map[int64]time.Time, skipped int, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read sent journal: %w", err)
	}
	sent = map[int64]time.Time{}
	for len(data) > 0 {
		line, rest, complete := bytes.Cut(data, []byte{'\n'})
		data = rest
		if !complete || !parseRecord(line, sent) {
			skipped++
		}
	}
	return sent, skipped, nil
}

// parseRecord adds the ids of one record line to sent, or says it is
// not a whole record.
func parseRecord(line []byte, sent map[int64]time.Time) bool {
	i := bytes.LastIndexByte(line, ' ')
	if i < 0 {
		return false
	}
	sum, err := strconv.ParseUint(string(line[i+1:]), 16, 32)
	if err != nil || uint32(sum) != crc32.ChecksumIEEE(line[:i]) {
		return false
	}
	msPart, idsPart, ok := bytes.Cut(line[:i], []byte{' '})
	if !ok {
		return false
	}
	ms, err := strconv.ParseInt(string(msPart), 10, 64)
	if err != nil {
		return false
	}
	var ids []int64
	for f := range bytes.SplitSeq(idsPart, []byte{','}) {
		id, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return false
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		sent[id] = time.UnixMilli(ms)
	}
	return true
}

// replayDetail is the delivery-log detail of a notification marked sent
// by the replay, when the store can record one (see SentNoter).
const replayDetail = "recorded by the sent journal: the medium had it, the mark after the send was lost to a crash or a store error"

// SentNoter is a Store that can say in the delivery log why
// notifications are marked sent. The sent journal's replay uses it so the
// log shows which sends it recorded; a Store without it gets a plain
// MarkSent, and the replay is in the log instead.
type SentNoter interface {
	MarkSentNoted(ctx context.Context, ids []int64, detail string, now time.Time) error
}

// replay marks sent, at the time each was sent, every id j records that
// the store does not know as sent, then truncates j. It runs at the
// start of a pass when the journal may hold records (needsReplay): after
// a restart, that is before anything is claimed.
func (d *Deliverer) replay(ctx context.Context, kind string, j *journal) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := d.replayLog(ctx, kind, j.log, nil); err != nil {
		return err
	}
	return j.truncate(ctx)
}

// replayLog marks sent, at the time each was sent, every id log records
// that the store does not know as sent, among those of the destinations
// covers accepts (all when it is nil). It leaves the log alone: a
// successor replays its predecessor's journal with it, one partition at
// a time.
func (d *Deliverer) replayLog(ctx context.Context, kind string, log journalLog, covers func(dest int64) bool) error {
	sent, skipped, err := log.read(ctx)
	if err != nil {
		return err
	}
	if skipped > 0 {
		d.o.Logger.Warn("sent journal: skipped torn or corrupt records", "kind", kind, "path", log.String(), "skipped", skipped)
	}
	byTime := map[time.Time][]int64{}
	for id, at := range sent {
		n, err := d.o.Store.NotificationByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted with its destination or user since
		}
		if err != nil {
			return fmt.Errorf("replay sent journal: %w", err)
		}
		if n.State != store.StateSent && (covers == nil || covers(n.DestinationID)) {
			byTime[at] = append(byTime[at], id)
		}
	}
	var marked []int64
	for at, ids := range byTime {
		slices.Sort(ids)
		if err := d.markReplayed(ctx, ids, at); err != nil {
			return fmt.Errorf("replay sent journal: %w", err)
		}
		marked = append(marked, ids...)
	}
	if len(marked) > 0 {
		slices.Sort(marked)
		d.o.Logger.Warn("sent journal: marked sent what the medium had before a crash or a failed mark", "kind", kind, "path", log.String(), "notifications", marked)
	}
	return nil
}

// markReplayed marks ids sent at at, noting why where the store can.
func (d *Deliverer) markReplayed(ctx context.Context, ids []int64, at time.Time) error {
	if n, ok := d.o.Store.(SentNoter); ok {
		return n.MarkSentNoted(ctx, ids, replayDetail, at)
	}
	return d.o.Store.MarkSent(ctx, ids, at)
}
