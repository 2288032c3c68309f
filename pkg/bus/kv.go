package bus

import (
	"context"
	"errors"
	"fmt"

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
