package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tu "github.com/nocontact/nocontact/pkg/testutil"
)

// TestPrometheusScrapesCPX runs a real Prometheus server (the Debian
// package "prometheus"; CI installs it) that scrapes the analytics service
// every second with the repository's rule files loaded, and reads the
// hand-computed figures back through Prometheus' HTTP API.
func TestPrometheusScrapesCPX(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not on PATH (apt-get install prometheus; CI installs it): skipping the scrape test")
	}
	b := tu.Bus(t)
	h := startService(t, b)
	publishDataset(t, b)
	h.waitCounted()

	dir := t.TempDir()
	target := strings.TrimPrefix(h.url, "http://")
	rules, err := filepath.Abs(filepath.Join(tu.RepoRoot(t), "deploy", "prometheus", "rules", "nocontact.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: nocontact
    static_configs:
      - targets: [%q]
        labels:
          component: analytics
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})

	// 3 November in Shanghai: the trailing 7 days (28 Oct-3 Nov) hold
	// c1-c6 and all 8 orders: CPO 6/8 = 0.75; where_is_my_order (c1, c3,
	// c6) 3/8 = 0.375; c3 is the only repeat within 7 days: 1/6.
	tests := []struct {
		query string
		want  float64
	}{
		{`nocontact_cpx{unit="order",reason="all"}`, 0.75},
		{`nocontact_cpx{unit="order",reason="where_is_my_order"}`, 0.375},
		{`nocontact_repeat_contact_ratio`, 1.0 / 6},
		// The counters are all-time: c7 (9 November) too.
		{`sum(nocontact_contacts_total)`, 7},
		{`nocontact_contacts_total{reason="where_is_my_order",channel="phone"}`, 2},
		{`nocontact_units_total{unit="order"}`, 8},
		{`nocontact_contact_cost{owner="logistics"}`, 16},
		{`nocontact_matrix_contacts{action="eliminate"}`, 4},
		// The recording rule of deploy/prometheus/rules.
		{`nocontact:cpx:trailing7d{unit="order",reason="all"}`, 0.75},
	}
	for _, tt := range tests {
		var got float64
		var found bool
		tu.Eventually(t, 30*time.Second, func() bool {
			got, found = promQuery(t, addr, tt.query)
			return found
		}, "prometheus has no value for %s", tt.query)
		if !near(got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// promQuery runs an instant query and returns the first sample's value.
func promQuery(t testing.TB, addr, query string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false // not listening yet
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" || len(out.Data.Result) == 0 {
		return 0, false
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
