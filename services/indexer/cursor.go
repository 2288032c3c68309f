package indexer

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// cursorVersion is bumped when the cursor layout changes; old cursors are then
// rejected with ErrBadCursor instead of being misread.
const cursorVersion = 1

// cursor is the decoded form of Result.NextCursor: the sort values of the
// last hit of a page (Bleve SearchAfter) and a fingerprint of the query that
// produced it.
type cursor struct {
	V     int      `json:"v"`
	Query uint64   `json:"q"`
	After []string `json:"a"`
}

// encodeCursor returns the opaque, URL-safe cursor resuming after the hit
// whose sort values are after.
func encodeCursor(fp uint64, after []string) (string, error) {
	b, err := json.Marshal(cursor{V: cursorVersion, Query: fp, After: after})
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor checks that s is a cursor for the query with fingerprint fp
// and sort mode mode, and returns its SearchAfter values.
func decodeCursor(s string, mode sortMode, fp uint64) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	switch {
	case c.V != cursorVersion:
		return nil, fmt.Errorf("%w: version %d", ErrBadCursor, c.V)
	case c.Query != fp:
		return nil, fmt.Errorf("%w: made for another query", ErrBadCursor)
	case len(c.After) != 2:
		return nil, fmt.Errorf("%w: %d sort values", ErrBadCursor, len(c.After))
	}
	// Bleve trusts SearchAfter values; check the first one parses.
	if mode == sortScore {
		if _, err := strconv.ParseFloat(c.After[0], 64); err != nil {
			return nil, fmt.Errorf("%w: score: %w", ErrBadCursor, err)
		}
	} else if _, err := time.Parse(time.RFC3339Nano, c.After[0]); err != nil {
		return nil, fmt.Errorf("%w: time: %w", ErrBadCursor, err)
	}
	return c.After, nil
}

// fingerprint identifies everything that decides a search's order and hit
// set, so that a cursor cannot be replayed against a different query (which
// would silently skip or repeat contacts). Limit and NoFacets are left out:
// the page size may change between pages.
func fingerprint(mode sortMode, q Query) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(s)))
		_, _ = h.Write(buf[:])
		_, _ = h.Write([]byte(s))
	}
	tm := func(t time.Time) {
		var sec, nsec int64
		if !t.IsZero() {
			sec, nsec = t.Unix(), int64(t.Nanosecond())
		}
		binary.LittleEndian.PutUint64(buf[:], uint64(sec))
		_, _ = h.Write(buf[:])
		binary.LittleEndian.PutUint64(buf[:], uint64(nsec))
		_, _ = h.Write(buf[:])
	}
	_, _ = h.Write([]byte{byte(mode)})
	str(q.Q)
	str(q.Reason)
	str(q.Channel)
	str(q.Locale)
	str(q.Source)
	str(q.Product)
	tm(q.From)
	tm(q.To)
	return h.Sum64()
}
