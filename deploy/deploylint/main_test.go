package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The repository's deploy/ directory is consistent.
func TestDeployDirectoryHasNoProblems(t *testing.T) {
	problems, err := lint("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// Each mistake, made in a copy of deploy/, is reported.
func TestMistakesAreReported(t *testing.T) {
	cases := []struct {
		name, file, old, new, want string
	}{
		{"missing readiness probe", "kubernetes/ingest.yaml", "readinessProbe:", "startupProbe:", "container nocontact: no readinessProbe"},
		{"writable root filesystem", "kubernetes/tagger.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"},
		{"no memory limit", "kubernetes/ingest.yaml", "memory: 512Mi", "ephemeral-storage: 1Gi", "no resources.limits.memory"},
		{"shared indexer durable", "kubernetes/indexer.yaml", "fieldPath: metadata.name", "fieldPath: metadata.namespace", "NOCONTACT_INDEXER_DURABLE must come from the pod name"},
		{"service port name typo", "kubernetes/indexer.yaml", "targetPort: http", "targetPort: htp", `targetPort "htp" is not a port`},
		{"unknown secret", "kubernetes/tagger.yaml", "name: nocontact-secrets", "name: nocontact-secret", `Secret "nocontact-secret" is not defined`},
		{"nats.conf drift", "nats/nats.conf", "max_payload: 8MB", "max_payload: 4MB", "differs from nats/nats.conf"},
		{"duplicate YAML key", "kubernetes/config.yaml", "  NOCONTACT_DATA: /data\n", "  NOCONTACT_DATA: /data\n  NOCONTACT_DATA: /x\n", "already defined"},
		{"compose unknown dependency", "docker-compose.yml", "depends_on: [prometheus]", "depends_on: [prometheus-server]", `unknown service "prometheus-server"`},
		{"compose missing bind mount", "docker-compose.yml", "./grafana/dashboards:", "./grafana/dashboard:", "bind mount ./grafana/dashboard"},
		{"dashboard with an unknown datasource", "grafana/dashboards/nocontact-pipeline.json", `"uid": "prometheus"`, `"uid": "prom"`, `datasource uid "prom"`},
		{"broken JSON", "grafana/dashboards/nocontact-pipeline.json", `"panels": [`, `"panels": [,`, "nocontact-pipeline.json: invalid character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDeploy(t)
			path := filepath.Join(dir, filepath.FromSlash(c.file))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), c.old) {
				t.Fatalf("%s does not contain %q: update the test", c.file, c.old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(data), c.old, c.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			problems, err := lint(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; got %q", c.want, problems)
		})
	}
}

// copyDeploy copies the deploy directory's configuration files (not Go
// code) into a temporary directory.
func copyDeploy(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		if d.IsDir() {
			if rel == "deploylint" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
