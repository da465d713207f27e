// Package owners knows who owns which package, for the owned-by and
// group-owned rules: it reads dist-git's pagure_owner_alias.json (and
// optionally which users belong to which group) from a file or an
// http(s) URL, and keeps an immutable snapshot that a Refresher replaces
// on a schedule without ever blocking matching.
//
// The alias file maps namespace → package → owners, a leading '@'
// marking a group:
//
//	{"rpms": {"nethack": ["alice", "@games-sig"]}, "modules": {...}, "container": {...}, "flatpaks": {...}}
//
// Every namespace counts; a name owned in several namespaces has the
// union of their owners. The groups file maps a group (without '@') to
// its members, so that owned-by also counts packages a user owns through
// a group:
//
//	{"games-sig": ["alice", "bob"]}
package owners

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
)

// Snapshot is one immutable view of package ownership. It implements
// rules.Ownership.
type Snapshot struct {
	users  map[string][]string // package → users, directly or through groups
	groups map[string][]string // package → groups, without '@'

	namesOnce sync.Once
	names     map[string][]string // sorted name lists, by WithPrefix's list
}

// Users returns the users owning pkg directly or through a group, sorted.
func (s *Snapshot) Users(pkg string) []string { return s.users[pkg] }

// Groups returns the groups owning pkg, sorted, without '@'.
func (s *Snapshot) Groups(pkg string) []string { return s.groups[pkg] }

// Packages returns how many packages have owners (every package owned
// by a group has an entry in users, even when the group's members are
// unknown).
func (s *Snapshot) Packages() int { return len(s.users) }

// Parse builds a snapshot from the contents of an alias file and of an
// optional groups file (nil when there is none). name and groupsName
// are only used in errors.
func Parse(name string, aliases []byte, groupsName string, groups []byte) (*Snapshot, error) {
	var namespaces map[string]map[string][]string
	if err := strictDecode(aliases, &namespaces); err != nil {
		return nil, fmt.Errorf("parse owners %s: %w", name, err)
	}
	var members map[string][]string
	if groups != nil {
		if err := strictDecode(groups, &members); err != nil {
			return nil, fmt.Errorf("parse groups %s: %w", groupsName, err)
		}
	}
	s := &Snapshot{users: map[string][]string{}, groups: map[string][]string{}}
	for ns, pkgs := range namespaces {
		for pkg, owners := range pkgs {
			for i, o := range owners {
				switch g, isGroup := strings.CutPrefix(o, "@"); {
				case strings.TrimSpace(g) == "":
					return nil, fmt.Errorf("parse owners %s: %s.%s[%d]: empty owner", name, ns, pkg, i)
				case isGroup:
					s.groups[pkg] = append(s.groups[pkg], g)
					s.users[pkg] = append(s.users[pkg], members[g]...)
				default:
					s.users[pkg] = append(s.users[pkg], o)
				}
			}
		}
	}
	for _, m := range []map[string][]string{s.users, s.groups} {
		for pkg, names := range m {
			slices.Sort(names)
			m[pkg] = slices.Clip(slices.Compact(names))
		}
	}
	return s, nil
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			return fmt.Errorf("line %d: %w", 1+bytes.Count(data[:se.Offset], []byte("\n")), err)
		}
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// Source says where ownership data comes from.
type Source struct {
	// Aliases is a path or an http(s) URL of a pagure_owner_alias.json.
	Aliases string
	// Groups is a path or URL of a group → members file; "" for none.
	Groups string
	// Client fetches URLs; nil means http.DefaultClient.
	Client *http.Client
}

// Load reads and parses the ownership data.
func Load(ctx context.Context, src Source) (*Snapshot, error) {
	aliases, err := fetch(ctx, src.Client, src.Aliases)
	if err != nil {
		return nil, err
	}
	var groups []byte
	if src.Groups != "" {
		if groups, err = fetch(ctx, src.Client, src.Groups); err != nil {
			return nil, err
		}
	}
	return Parse(src.Aliases, aliases, src.Groups, groups)
}

// maxBody bounds a downloaded file: Fedora's alias file is a few MB.
const maxBody = 256 << 20

func fetch(ctx context.Context, client *http.Client, source string) ([]byte, error) {
	if !strings.HasPrefix(source, "http://") && !strings.HasPrefix(source, "https://") {
		data, err := os.ReadFile(source)
		if err != nil {
			return nil, fmt.Errorf("read owners: %w", err)
		}
		return data, nil
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch owners %s: %w", source, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch owners: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch owners %s: status %s", source, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("fetch owners %s: %w", source, err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("fetch owners %s: larger than %d bytes", source, maxBody)
	}
	return data, nil
}
