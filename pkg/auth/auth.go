// Package auth holds API tokens and roles. Tokens are random bearer
// secrets; only their SHA-256 is stored, in a JetStream key-value bucket
// that every process of an installation shares and watches, so a new or
// revoked token takes effect everywhere at once.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/nocontact/nocontact/pkg/bus"
)

// Role is what a token may do.
type Role string

// The roles. Admin may do everything; ops runs the operation (taxonomy,
// defects, articles, reports); agent handles contacts (search, review,
// relabel); ingest is a machine role that may only send contacts and orders.
const (
	RoleAdmin  Role = "admin"
	RoleOps    Role = "ops"
	RoleAgent  Role = "agent"
	RoleIngest Role = "ingest"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleOps, RoleAgent, RoleIngest}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("unknown role %q: want admin, ops, agent or ingest", s)
	}
	return r, nil
}

// Principal is who a request acts as.
type Principal struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// ErrUnknownToken is returned for a token that is not (or no longer) valid.
var ErrUnknownToken = errors.New("unknown token")

// NewToken returns a fresh random token ("nct_" and 43 URL-safe characters).
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "nct_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash returns the key a token is stored under: its SHA-256 in hex.
// Tokens are long random secrets, so a fast hash is the right tool.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

const bootstrapKey = "_bootstrap"

// Store keeps token hashes in a key-value bucket and a watched local copy.
type Store struct {
	kv jetstream.KeyValue

	mu     sync.RWMutex
	tokens map[string]Principal
}

// NewStore returns a store over kv; call Watch before Lookup.
func NewStore(kv jetstream.KeyValue) *Store {
	return &Store{kv: kv, tokens: map[string]Principal{}}
}

// Watch keeps the local copy in step with the bucket until ctx ends. It
// returns after the initial values are loaded; updates continue in the
// background.
func (s *Store) Watch(ctx context.Context) error {
	if err := bus.FollowKeys(ctx, s.kv, s.apply); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

func (s *Store) apply(e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(s.tokens, e.Key())
		return
	}
	var p Principal
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return
	}
	s.tokens[e.Key()] = p
}

// Lookup returns the principal of a token.
func (s *Store) Lookup(token string) (Principal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.tokens[Hash(token)]
	if !ok {
		return Principal{}, ErrUnknownToken
	}
	return p, nil
}

// Put stores a token's hash with its principal, and applies it locally at
// once (other processes see it through their watch).
func (s *Store) Put(ctx context.Context, token string, p Principal) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	key := Hash(token)
	if _, err := s.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("auth: store token: %w", err)
	}
	s.mu.Lock()
	s.tokens[key] = p
	s.mu.Unlock()
	return nil
}

// Revoke deletes a token given its hash.
func (s *Store) Revoke(ctx context.Context, hash string) error {
	if err := s.kv.Delete(ctx, hash); err != nil {
		return fmt.Errorf("auth: revoke token: %w", err)
	}
	s.mu.Lock()
	delete(s.tokens, hash)
	s.mu.Unlock()
	return nil
}

// List returns every token's hash and principal.
func (s *Store) List() map[string]Principal {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]Principal, len(s.tokens))
	for k, v := range s.tokens {
		out[k] = v
	}
	return out
}

// HasAdmin reports whether any admin token exists.
func (s *Store) HasAdmin() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.tokens {
		if p.Role == RoleAdmin {
			return true
		}
	}
	return false
}

// Bootstrap makes sure an admin can log in. With envToken set (from
// NOCONTACT_ADMIN_TOKEN) its hash is stored as the "env-admin" principal.
// Otherwise, when no admin token exists yet, it creates one and returns it
// so the caller prints it once; it returns "" when nothing was created.
func (s *Store) Bootstrap(ctx context.Context, envToken string) (string, error) {
	if envToken != "" {
		if len(envToken) < 16 {
			return "", errors.New("auth: NOCONTACT_ADMIN_TOKEN must be at least 16 characters")
		}
		if p, err := s.Lookup(envToken); err == nil && p.Role == RoleAdmin {
			return "", nil
		}
		return "", s.Put(ctx, envToken, Principal{Name: "env-admin", Role: RoleAdmin})
	}
	if s.HasAdmin() {
		return "", nil
	}
	// One process of an installation creates the first admin token: the
	// atomic create of a marker key decides which.
	if _, err := s.kv.Create(ctx, bootstrapKey, []byte("1")); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return "", nil
		}
		return "", fmt.Errorf("auth: bootstrap: %w", err)
	}
	tok := NewToken()
	if err := s.Put(ctx, tok, Principal{Name: "admin", Role: RoleAdmin}); err != nil {
		return "", err
	}
	return tok, nil
}
