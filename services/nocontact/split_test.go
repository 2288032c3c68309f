package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// buildBinary builds the nocontact binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nocontact")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build nocontact: %v", err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// replica is a `nocontact serve --only ...` child process.
type replica struct {
	cmd  *exec.Cmd
	addr string
}

func startReplica(t *testing.T, bin, natsURL, only string, extra ...string) *replica {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"serve", "--nats", natsURL, "--only", only, "--http", addr, "--data", t.TempDir(), "--log-format", "json", "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NOCONTACT_ADMIN_TOKEN="+testAdmin)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, addr: addr}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	tu.Eventually(t, 30*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "replica %s not ready", only)
	return r
}

// processed reads the replica's processed-message counter from /metrics.
func (r *replica) processed() float64 {
	resp, err := http.Get("http://" + r.addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "nocontact_consumer_processed_total{") && strings.Contains(line, `service="tagger"`) {
			var v float64
			fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
			sum += v
		}
	}
	return sum
}

// Two tagger replicas run as their own processes against the embedded
// server's NATS port and share the durable consumer; one is killed in the
// middle of the stream. Every contact is still tagged exactly once.
func TestSplitDeploymentTagsEveryContactExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	ts := startServer(t, t.TempDir(), func(c *serveConfig) {
		c.Only = "ingest,indexer"
		c.NATSListen = "127.0.0.1:-1"
	})
	natsURL := ts.srv.bus.ClientURL()
	if natsURL == "" {
		t.Fatal("embedded server has no client URL despite --nats-listen")
	}
	a := startReplica(t, bin, natsURL, "tagger", "--consumer-ack-wait", "3s")
	b := startReplica(t, bin, natsURL, "tagger", "--consumer-ack-wait", "3s")

	const total = 6000
	go func() {
		for i := 0; i < total; i += 500 {
			batch := make([]map[string]any, 0, 500)
			for j := i; j < i+500; j++ {
				batch = append(batch, map[string]any{"external_id": fmt.Sprint(j), "source": "split", "text": fmt.Sprintf("Where is my order %d? It has not arrived.", j)})
			}
			data, _ := json.Marshal(batch)
			req, _ := http.NewRequestWithContext(context.Background(), "POST", ts.url+"/v1/contacts", strings.NewReader(string(data)))
			req.Header.Set("Authorization", "Bearer "+testAdmin)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	// Kill replica a (no graceful stop) once both have done some work.
	tu.Eventually(t, 60*time.Second, func() bool { return a.processed() > 0 && b.processed() > 0 }, "both replicas did not get work")
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ts.waitSearchable("source=split&limit=1", total)
	tu.Eventually(t, 30*time.Second, func() bool { return ts.streamCount("nc.contact.tagged") >= total }, "tagged events")
	time.Sleep(500 * time.Millisecond)
	if n := ts.streamCount("nc.contact.tagged"); n != total {
		t.Errorf("tagged events: %d, want exactly %d", n, total)
	}
}
