package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// KeyWrite is one conditional write of a key-value bucket entry.
type KeyWrite struct {
	Key   string
	Value []byte
	// Revision is the revision the key must have now: 0 to create a key
	// that must not exist yet.
	Revision uint64
	// Overwrite writes whatever the key holds (Revision is ignored).
	Overwrite bool
}

// KeyResult is the outcome of one KeyWrite.
type KeyResult struct {
	// Revision is the new revision when the write succeeded.
	Revision uint64
	// Conflict is true when the key's revision was not the expected one
	// (for a create: the key exists).
	Conflict bool
	// Err is any other failure.
	Err error
}

// WriteKeys performs writes (conditional unless Overwrite) to a bucket pipelined: every
// write is sent before any answer is awaited, so a batch of writes costs
// about one round trip instead of one per key. Each write is atomic on its
// own (compare-and-set on the key's last revision), as with
// KeyValue.Create and KeyValue.Update.
func (b *Bus) WriteKeys(ctx context.Context, bucket string, writes []KeyWrite) []KeyResult {
	results := make([]KeyResult, len(writes))
	futures := make([]jetstream.PubAckFuture, len(writes))
	prefix := "$KV." + b.Bucket(bucket) + "."
	for i, w := range writes {
		m := nats.NewMsg(prefix + w.Key)
		m.Data = w.Value
		var opts []jetstream.PublishOpt
		if !w.Overwrite {
			opts = append(opts, jetstream.WithExpectLastSequencePerSubject(w.Revision))
		}
		f, err := b.JS.PublishMsgAsync(m, opts...)
		if err != nil {
			results[i].Err = fmt.Errorf("bus: write key %s: %w", w.Key, err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			results[i].Revision = ack.Sequence
		case err := <-f.Err():
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
				results[i].Conflict = true
			} else {
				results[i].Err = fmt.Errorf("bus: write key %s: %w", writes[i].Key, err)
			}
		case <-ctx.Done():
			results[i].Err = ctx.Err()
		}
	}
	return results
}

// FollowKeys calls apply with every entry of the bucket (puts, deletes and
// purges) and keeps doing so for later changes until ctx ends. It returns
// once the entries present at the start have been applied, so a caller's
// local copy is complete when it returns.
func FollowKeys(ctx context.Context, kv jetstream.KeyValue, apply func(jetstream.KeyValueEntry)) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("bus: watch %s: %w", kv.Bucket(), err)
	}
	loaded := make(chan struct{})
	go func() {
		defer func() { _ = w.Stop() }()
		var once sync.Once
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					once.Do(func() { close(loaded) })
					continue
				}
				apply(e)
			}
		}
	}()
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return fmt.Errorf("bus: %s not loaded after 30s", kv.Bucket())
	}
}
