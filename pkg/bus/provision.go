package bus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Subjects names every subject the services publish on, under one prefix.
type Subjects struct {
	Prefix string
	// ContactReceived carries pb.ContactReceived from ingest.
	ContactReceived string
	// ContactTagged carries pb.ContactTagged from the tagger.
	ContactTagged string
	// ContactRelabeled carries pb.ContactRelabeled.
	ContactRelabeled string
	// OrderCreated carries pb.OrderCreated from ingest.
	OrderCreated string
}

// NewSubjects returns the subject names under prefix.
func NewSubjects(prefix string) Subjects {
	return Subjects{
		Prefix:           prefix,
		ContactReceived:  prefix + ".contact.received",
		ContactTagged:    prefix + ".contact.tagged",
		ContactRelabeled: prefix + ".contact.relabeled",
		OrderCreated:     prefix + ".order.created",
	}
}

// DeadLetter is the subject poison messages of a service go to.
func (s Subjects) DeadLetter(service string) string { return s.Prefix + ".dlq." + service }

// Stream names, as provisioned for the default prefix "nc". With another
// prefix each name gets that prefix (upper-cased) and an underscore in front,
// so two installations can share a cluster.
const (
	StreamContacts    = "CONTACTS"
	StreamOrders      = "ORDERS"
	StreamDefects     = "DEFECTS"
	StreamSelfService = "SELFSERVICE"
	StreamDeadLetters = "DLQ"
)

// Key-value buckets.
const (
	// BucketContactIDs maps (source, external_id) to the contact id: the
	// ingest deduplication, with atomic create.
	BucketContactIDs = "contact-ids"
	// BucketOrderIDs maps (source, order_id) to a marker, deduplicating orders.
	BucketOrderIDs = "order-ids"
	// BucketTokens maps a token's SHA-256 to its role and name.
	BucketTokens = "tokens"
	// BucketContactTags maps a contact id to the stream sequence and reason
	// of its latest tag (tagged or relabeled event), so the contact can be
	// found again to relabel it.
	BucketContactTags = "contact-tags"
	// BucketReview holds the contacts waiting for a person to confirm or
	// correct their reason.
	BucketReview = "review"
	// BucketReasonModes holds per reason whether tags are applied (auto) or
	// only suggested for review (suggest).
	BucketReasonModes = "reason-modes"
	// ObjectModels is the object store of classifier model snapshots.
	ObjectModels = "models"
)

// Stream returns the provisioned name of a stream.
func (b *Bus) Stream(base string) string {
	if b.cfg.Prefix == "nc" {
		return base
	}
	return strings.ToUpper(b.cfg.Prefix) + "_" + base
}

// Bucket returns the provisioned name of a key-value bucket.
func (b *Bus) Bucket(base string) string {
	if b.cfg.Prefix == "nc" {
		return base
	}
	return b.cfg.Prefix + "-" + base
}

// Provision creates or updates every stream and bucket the services use.
// It is idempotent: every process calls it at start.
func (b *Bus) Provision(ctx context.Context) error {
	p := b.cfg.Prefix
	streams := []jetstream.StreamConfig{
		{Name: b.Stream(StreamContacts), Subjects: []string{p + ".contact.>"}, Description: "customer contacts: received, tagged, relabeled"},
		{Name: b.Stream(StreamOrders), Subjects: []string{p + ".order.>", p + ".unit.>"}, Description: "orders and other units (the X of CPX)"},
		{Name: b.Stream(StreamDefects), Subjects: []string{p + ".defect.>", p + ".andon.>"}, Description: "process defects and andon pulls"},
		{Name: b.Stream(StreamSelfService), Subjects: []string{p + ".faq.>", p + ".article.>"}, Description: "help-centre searches, feedback and articles"},
		{Name: b.Stream(StreamDeadLetters), Subjects: []string{p + ".dlq.>"}, Description: "messages consumers gave up on, with the error"},
	}
	for _, sc := range streams {
		sc.Storage = jetstream.FileStorage
		sc.Retention = jetstream.LimitsPolicy
		sc.MaxAge = b.cfg.Retention
		sc.Duplicates = 10 * time.Minute
		sc.Discard = jetstream.DiscardOld
		sc.Replicas = b.cfg.Replicas
		if _, err := b.JS.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("bus: provision stream %s: %w", sc.Name, err)
		}
	}
	buckets := []jetstream.KeyValueConfig{
		{Bucket: b.Bucket(BucketContactIDs), Description: "contact dedup: source/external_id -> contact id", History: 1},
		{Bucket: b.Bucket(BucketOrderIDs), Description: "order dedup: source/order_id", History: 1},
		{Bucket: b.Bucket(BucketTokens), Description: "API token hashes -> role", History: 5},
		{Bucket: b.Bucket(BucketContactTags), Description: "contact id -> sequence and reason of its latest tag", History: 1},
		{Bucket: b.Bucket(BucketReview), Description: "contacts waiting for review", History: 1},
		{Bucket: b.Bucket(BucketReasonModes), Description: "reason -> auto or suggest", History: 5},
	}
	objects := []jetstream.ObjectStoreConfig{
		{Bucket: b.Bucket(ObjectModels), Description: "classifier model snapshots"},
	}
	for _, oc := range objects {
		oc.Storage = jetstream.FileStorage
		oc.Replicas = b.cfg.Replicas
		if _, err := b.JS.CreateOrUpdateObjectStore(ctx, oc); err != nil {
			return fmt.Errorf("bus: provision object store %s: %w", oc.Bucket, err)
		}
	}
	for _, kc := range buckets {
		kc.Storage = jetstream.FileStorage
		kc.Replicas = b.cfg.Replicas
		if _, err := b.JS.CreateOrUpdateKeyValue(ctx, kc); err != nil {
			return fmt.Errorf("bus: provision bucket %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// ObjectStore returns a provisioned object store by its base name.
func (b *Bus) ObjectStore(ctx context.Context, base string) (jetstream.ObjectStore, error) {
	os, err := b.JS.ObjectStore(ctx, b.Bucket(base))
	if err != nil {
		return nil, fmt.Errorf("bus: object store %s: %w", base, err)
	}
	return os, nil
}

// KeyValue returns a provisioned bucket by its base name.
func (b *Bus) KeyValue(ctx context.Context, base string) (jetstream.KeyValue, error) {
	kv, err := b.JS.KeyValue(ctx, b.Bucket(base))
	if err != nil {
		return nil, fmt.Errorf("bus: bucket %s: %w", base, err)
	}
	return kv, nil
}
