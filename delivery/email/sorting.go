package email

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"hark/delivery"
	"hark/filters"
	"hark/rules"
)

// The headers that let a mail client file hark's mail without reading it:
// which filter sent it and why.
const (
	headerFilter = "X-Hark-Filter"
	headerReason = "X-Hark-Reason"
)

// domain is the part after "@" of the sender address, which hark's
// Message-IDs, thread roots and List-Ids are made under.
func domain(from string) string {
	if _, d, ok := strings.Cut(from, "@"); ok {
		if d = strings.Trim(d, "<> "); d != "" {
			return d
		}
	}
	return "hark.invalid"
}

// filterNames is the batch's distinct filter names in first-seen order.
func filterNames(b *delivery.Batch) []string {
	var out []string
	for _, it := range b.Items {
		if it.FilterName != "" && !slices.Contains(out, it.FilterName) {
			out = append(out, it.FilterName)
		}
	}
	return out
}

// reasons is the batch's distinct reasons (see reason) in first-seen
// order.
func reasons(b *delivery.Batch) []string {
	var out []string
	for _, it := range b.Items {
		if r := reason(it.Why); r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// reason is a filter's rule verdicts in words: each rule that let the
// message through, as "Title: value", joined by "; ". "" when why is
// empty or in a format this version does not read.
func reason(why json.RawMessage) string {
	var vs []filters.Verdict
	if len(why) == 0 || json.Unmarshal(why, &vs) != nil {
		return ""
	}
	kinds := rules.Kinds()
	var parts []string
	for _, v := range vs {
		if !v.Pass {
			continue
		}
		title := v.Kind
		if i := slices.IndexFunc(kinds, func(k rules.Kind) bool { return k.Name == v.Kind }); i >= 0 {
			title = kinds[i].Title
		}
		if v.Negate {
			title = "not " + title
		}
		parts = append(parts, title+": "+rules.ArgsText(v.Args))
	}
	return strings.Join(parts, "; ")
}

// listID is the List-Id of b's filter, `"NAME" <filter-ID.DOMAIN>`, or
// "" when its items come from several filters (or none). Mail clients
// file and mute by it, one list per filter.
func listID(b *delivery.Batch, from string) string {
	var id int64
	var name string
	for _, it := range b.Items {
		if it.FilterID == 0 || (id != 0 && it.FilterID != id) {
			return ""
		}
		id, name = it.FilterID, it.FilterName
	}
	if id == 0 {
		return ""
	}
	label := "<filter-" + strconv.FormatInt(id, 10) + "." + domain(from) + ">"
	if name == "" {
		return label
	}
	return phrase(name) + " " + label
}

// phrase is s as an RFC 5322 display name: quoted, or RFC 2047-encoded
// when not ASCII; line breaks become spaces.
func phrase(s string) string {
	v := headerValue(s)
	if v != s && strings.HasPrefix(v, "=?") {
		return v
	}
	return strconv.Quote(v)
}

// threadRoot is the Message-ID all mails about b's object refer to, or ""
// when b's items are about several objects (or none known). No mail
// carries it: it is a synthetic root, the same for every mail to this
// destination about this object, so that mail clients thread them
// together however many are deleted or arrive out of order.
func threadRoot(b *delivery.Batch, from string) string {
	var thread string
	for _, it := range b.Items {
		if it.Thread == "" || (thread != "" && it.Thread != thread) {
			return ""
		}
		thread = it.Thread
	}
	if thread == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(strconv.FormatInt(b.Destination.ID, 10) + "\x00" + thread))
	return "<hark.thread." + hex.EncodeToString(sum[:12]) + "@" + domain(from) + ">"
}
