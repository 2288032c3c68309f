package faq

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/bus"
)

// BucketDefects is the key-value bucket the defects service keeps its
// defects in (id -> JSON).
const BucketDefects = "defects"

// DefectNotices is the KnownIssues of an installation: it watches the
// defects bucket and lists the defects that are still open (open,
// acknowledged or fixing) and carry a public notice. The service uses it
// unless Deps.KnownIssues is set.
type DefectNotices struct {
	bus *bus.Bus
	log zerolog.Logger

	mu     sync.RWMutex
	issues map[string]KnownIssue
}

// NewDefectNotices returns notices read from the bus's defects bucket;
// Run keeps them current.
func NewDefectNotices(b *bus.Bus, log zerolog.Logger) *DefectNotices {
	return &DefectNotices{bus: b, log: log, issues: map[string]KnownIssue{}}
}

// defectJSON is the part of the defects service's Defect the help centre
// reads.
type defectJSON struct {
	ID           string    `json:"id"`
	Reason       string    `json:"reason"`
	Status       string    `json:"status"`
	PublicNotice string    `json:"public_notice"`
	OpenedAt     time.Time `json:"opened_at"`
}

// noticeOf returns the known issue a stored defect stands for, if any.
func noticeOf(data []byte) (KnownIssue, bool) {
	var d defectJSON
	if err := json.Unmarshal(data, &d); err != nil || d.ID == "" || d.PublicNotice == "" {
		return KnownIssue{}, false
	}
	if !slices.Contains([]string{"open", "acknowledged", "fixing"}, d.Status) {
		return KnownIssue{}, false
	}
	return KnownIssue{ID: d.ID, Reason: d.Reason, Title: d.PublicNotice, Since: d.OpenedAt}, true
}

// Run watches the defects bucket until ctx ends, waiting for the bucket
// when the defects service has not created it yet.
func (n *DefectNotices) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		kv, err := n.bus.JS.KeyValue(ctx, n.bus.Bucket(BucketDefects))
		if err != nil {
			if !errors.Is(err, jetstream.ErrBucketNotFound) {
				n.log.Warn().Err(err).Msg("defects bucket")
			}
			sleepCtx(ctx, 5*time.Second)
			continue
		}
		if err := n.watch(ctx, kv); err != nil && ctx.Err() == nil {
			n.log.Warn().Err(err).Msg("watch defects bucket")
			sleepCtx(ctx, time.Second)
		}
	}
	return nil
}

func (n *DefectNotices) watch(ctx context.Context, kv jetstream.KeyValue) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended")
			}
			if e == nil {
				continue
			}
			n.mu.Lock()
			if is, ok := noticeOf(e.Value()); ok && e.Operation() == jetstream.KeyValuePut {
				n.issues[e.Key()] = is
			} else {
				delete(n.issues, e.Key())
			}
			n.mu.Unlock()
		}
	}
}

// PublicIssues implements KnownIssues.
func (n *DefectNotices) PublicIssues(context.Context) ([]KnownIssue, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]KnownIssue, 0, len(n.issues))
	for _, is := range n.issues {
		out = append(out, is)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Since.After(out[j].Since) || (out[i].Since.Equal(out[j].Since) && out[i].ID < out[j].ID)
	})
	return out, nil
}
