// Package testutil holds helpers for tests that run real parts: an
// embedded JetStream server in a temporary directory, and Eventually.
package testutil

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nocontact/nocontact/pkg/bus"
)

// Bus starts an embedded JetStream server with its store in a temporary
// directory, provisions the streams and returns a connected Bus, closed at
// the end of the test.
func Bus(t testing.TB) *bus.Bus {
	t.Helper()
	return BusAt(t, t.TempDir())
}

// BusAt is Bus with a data directory the test chooses, so a test can
// restart a server on the same files.
func BusAt(t testing.TB, dir string) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: dir}, Logger(t))
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	if err := b.Provision(ctx); err != nil {
		b.Close()
		t.Fatalf("provision: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Logger returns a logger that writes to the test log (warnings and up,
// or everything with NOCONTACT_TEST_LOG=debug).
func Logger(t testing.TB) zerolog.Logger {
	lvl := zerolog.WarnLevel
	if os.Getenv("NOCONTACT_TEST_LOG") == "debug" {
		lvl = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(lvl).With().Timestamp().Logger()
}

// Eventually calls cond every 20ms until it returns true, failing the test
// with msg when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SharedDir returns the shared data folder (NOCONTACT_SHARED, default
// ../shared beside the repository root), skipping the test with a clear
// message when it is absent.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("NOCONTACT_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Skipf("shared data folder %s not found (set NOCONTACT_SHARED): %v", dir, err)
	}
	return dir
}

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate testutil source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
