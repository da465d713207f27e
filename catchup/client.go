// Package catchup fetches from datagrepper the bus messages hark missed
// while it was down or deaf, and hands them to the router's normal path
// as if they had just been received. The store's de-duplication by
// message key makes a message that also arrives through the bus count
// once. It knows nothing of filters or delivery.
package catchup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"hark/bus"
)

// Client asks datagrepper's /v2/search for the messages of a time window,
// page by page, in slices that overlap a little, at a bounded rate.
type Client struct {
	// BaseURL is datagrepper's root, e.g. https://apps.fedoraproject.org/datagrepper/.
	BaseURL string
	HTTP    *http.Client
	// RowsPerPage is asked of every page (datagrepper allows at most 100).
	RowsPerPage int
	// Slice is the length of one query's window (default 1h): a long
	// outage is asked for slice by slice, so no query runs into
	// datagrepper's time limits.
	Slice time.Duration
	// Overlap is how far each slice reaches back into the previous one
	// (default 1 minute), so a message stored late, or with a timestamp
	// on a slice's edge, is not missed; the duplicates it brings are
	// dropped here by message key.
	Overlap time.Duration
	// Limiter bounds the requests made; nil allows 2 a second.
	Limiter *rate.Limiter
	// MaxMessageBytes skips larger messages, as the bus does (0: no limit).
	MaxMessageBytes int
}

// maxRowsPerPage is the most datagrepper serves in one page.
const maxRowsPerPage = 100

func (c *Client) defaults() {
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: time.Minute}
	}
	if c.RowsPerPage <= 0 || c.RowsPerPage > maxRowsPerPage {
		c.RowsPerPage = maxRowsPerPage
	}
	if c.Slice <= 0 {
		c.Slice = time.Hour
	}
	if c.Overlap <= 0 {
		c.Overlap = time.Minute
	}
	// Duplicates are dropped against the previous slice only.
	c.Overlap = min(c.Overlap, c.Slice/2)
	if c.Limiter == nil {
		c.Limiter = rate.NewLimiter(2, 1)
	}
}

// Page is one answer of /v2/search (or /raw), in datagrepper's shape.
type Page struct {
	RawMessages []json.RawMessage `json:"raw_messages"`
	Total       int               `json:"total"`
	Pages       int               `json:"pages"`
	Count       int               `json:"count"`
	Arguments   map[string]any    `json:"arguments"`
}

// Window hands each message whose timestamp is in [start, end] to each,
// oldest first, once (by message key) however the slices overlap. It
// stops at the first error of each or of datagrepper. It returns how
// many messages it handed over.
func (c *Client) Window(ctx context.Context, start, end time.Time, each func(*bus.Envelope) error) (int, error) {
	c.defaults()
	seen := map[string]bool{}
	handed := 0
	for from := start; from.Before(end); {
		to := from.Add(c.Slice)
		if to.After(end) {
			to = end
		}
		sliceStart := from
		if sliceStart.After(start) {
			sliceStart = sliceStart.Add(-c.Overlap)
		}
		// Keys seen in the previous slice are all the overlap can repeat.
		inSlice := map[string]bool{}
		for page := 1; ; page++ {
			p, err := c.Search(ctx, sliceStart, to, page)
			if err != nil {
				return handed, err
			}
			for _, raw := range p.RawMessages {
				if c.MaxMessageBytes > 0 && len(raw) > c.MaxMessageBytes {
					continue
				}
				env, err := Envelope(raw)
				if err != nil {
					return handed, fmt.Errorf("read datagrepper message: %w", err)
				}
				key := env.Key()
				if seen[key] || inSlice[key] {
					continue
				}
				inSlice[key] = true
				if err := each(env); err != nil {
					return handed, err
				}
				handed++
			}
			if page >= p.Pages || len(p.RawMessages) == 0 {
				break
			}
		}
		seen = inSlice
		from = to
	}
	return handed, nil
}

// Search asks for one page of the messages in [start, end], oldest first.
func (c *Client) Search(ctx context.Context, start, end time.Time, page int) (*Page, error) {
	c.defaults()
	if err := c.Limiter.Wait(ctx); err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSuffix(c.BaseURL, "/") + "/v2/search")
	if err != nil {
		return nil, fmt.Errorf("parse datagrepper url %q: %w", c.BaseURL, err)
	}
	q := url.Values{
		"start":         {seconds(start)},
		"end":           {seconds(end)},
		"order":         {"asc"},
		"page":          {strconv.Itoa(page)},
		"rows_per_page": {strconv.Itoa(c.RowsPerPage)},
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ask datagrepper: %w", err)
	}
	// Without it datagrepper answers a browser's HTML page.
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask datagrepper: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read datagrepper answer from %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask datagrepper %s: %s: %s", u.Redacted(), resp.Status, firstLine(body))
	}
	var p Page
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("read datagrepper answer from %s: %w", u.Redacted(), err)
	}
	return &p, nil
}

// seconds is t as datagrepper takes times: Unix seconds.
func seconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64)
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
	if len(line) > 200 {
		line = line[:200]
	}
	return string(line)
}

// Envelope maps one datagrepper message to what the bus delivers. It
// takes both shapes: /v2/search's fedora-messaging dict (id, topic,
// headers with sent-at, body) and /raw's fedmsg envelope (msg_id, topic,
// timestamp, msg).
func Envelope(raw json.RawMessage) (*bus.Envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, fedmsg := m["msg"]; fedmsg {
		// /raw's extras are datanommer's, not the envelope's.
		delete(m, "users")
		delete(m, "packages")
		delete(m, "source_name")
		delete(m, "source_version")
		delete(m, "i")
		if h, ok := m["headers"]; ok && h == nil {
			delete(m, "headers")
		}
		return bus.FromFields(m)
	}
	id, _ := m["id"].(string)
	topic, _ := m["topic"].(string)
	body, ok := m["body"]
	if topic == "" || !ok {
		return nil, errors.New("neither a fedmsg envelope nor a fedora-messaging message: no topic or body")
	}
	fields := map[string]any{"topic": topic, "msg": body}
	if id != "" {
		fields["msg_id"] = id
	}
	if h, ok := m["headers"].(map[string]any); ok && len(h) > 0 {
		fields["headers"] = h
		if s, ok := h["sent-at"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				fields["timestamp"] = json.Number(seconds(t))
			}
		}
	}
	return bus.FromFields(fields)
}
