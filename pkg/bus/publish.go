package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// HeaderSchema names the protobuf message type of a payload
// (e.g. "nocontact.v1.ContactReceived").
const HeaderSchema = "Nc-Schema"

// Event is one protobuf event to publish.
type Event struct {
	Subject string
	// ID is sent as Nats-Msg-Id: JetStream drops a second publish of the
	// same id within the stream's duplicate window.
	ID  string
	Msg proto.Message
}

// Publish publishes events and returns once JetStream has stored every one
// of them (or reports the failures). Publishes are pipelined, so a batch
// costs about one round trip.
func (b *Bus) Publish(ctx context.Context, events ...Event) error {
	_, err := b.PublishAcks(ctx, events...)
	return err
}

// PublishAcks is Publish that also returns each event's acknowledgement
// (its stream and sequence), in order.
func (b *Bus) PublishAcks(ctx context.Context, events ...Event) ([]*jetstream.PubAck, error) {
	if len(events) == 0 {
		return nil, nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	for _, ev := range events {
		data, err := proto.Marshal(ev.Msg)
		if err != nil {
			return nil, fmt.Errorf("bus: encode %s: %w", ev.Subject, err)
		}
		m := nats.NewMsg(ev.Subject)
		m.Data = data
		m.Header.Set(HeaderSchema, string(proto.MessageName(ev.Msg)))
		var opts []jetstream.PublishOpt
		if ev.ID != "" {
			opts = append(opts, jetstream.WithMsgID(ev.ID))
		}
		f, err := b.JS.PublishMsgAsync(m, opts...)
		if err != nil {
			return nil, fmt.Errorf("bus: publish %s: %w", ev.Subject, err)
		}
		futures = append(futures, f)
	}
	acks := make([]*jetstream.PubAck, len(futures))
	var errs []error
	for i, f := range futures {
		select {
		case acks[i] = <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("bus: publish: %w", ctx.Err())
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bus: publish %d of %d events: %w", len(errs), len(events), errors.Join(errs...))
	}
	return acks, nil
}

// Decode unmarshals a message payload into m, wrapping failures as
// permanent errors: a payload that does not decode never will.
func Decode(msg jetstream.Msg, m proto.Message) error {
	if err := proto.Unmarshal(msg.Data(), m); err != nil {
		return Permanent(fmt.Errorf("decode %s: %w", proto.MessageName(m), err))
	}
	return nil
}
