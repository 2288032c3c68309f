// Command deploylint checks that the files under deploy/ parse and agree
// with each other, without a Docker engine or a Kubernetes cluster:
//
//	go run ./deploy/deploylint deploy
//
// It parses every YAML and JSON file, then checks what a reviewer would:
// every Kubernetes container has probes, resource requests and limits and a
// non-root, read-only security context; Services select a workload and name
// ports it has; env references point at ConfigMaps and Secrets that exist;
// the NATS ConfigMap carries the same nats.conf as deploy/nats; the compose
// file's dependencies, volumes and bind mounts exist; Grafana dashboards use
// the provisioned datasource. It prints every problem found and exits 1 if
// there was any.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	dir := "deploy"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	problems, err := lint(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploylint:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Printf("deploylint: %d problems\n", len(problems))
		os.Exit(1)
	}
	fmt.Println("deploylint: ok")
}

// obj is a decoded YAML or JSON mapping.
type obj = map[string]any

// doc is one YAML document of a file.
type doc struct {
	file string
	v    obj
}

func (d doc) kind() string { return str(d.v, "kind") }
func (d doc) name() string { return str(d.v, "metadata", "name") }
func (d doc) String() string {
	return fmt.Sprintf("%s: %s/%s", d.file, d.kind(), d.name())
}

// linter collects problems.
type linter struct {
	dir      string
	problems []string
}

func (l *linter) addf(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// lint checks the deploy directory dir and returns the problems found.
func lint(dir string) ([]string, error) {
	l := &linter{dir: dir}
	docs := map[string][]doc{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		switch filepath.Ext(path) {
		case ".yml", ".yaml":
			ds, err := readYAML(path)
			if err != nil {
				l.addf("%s: %v", rel, err)
				return nil
			}
			for _, v := range ds {
				docs[rel] = append(docs[rel], doc{file: rel, v: v})
			}
		case ".json":
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				l.addf("%s: %v", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.kubernetes(docs)
	l.compose(docs)
	l.grafana(docs)
	l.prometheusTargets(docs)
	sort.Strings(l.problems)
	return l.problems, nil
}

// readYAML decodes every document of a YAML file; empty documents are
// skipped. Duplicate keys are errors.
func readYAML(path string) ([]obj, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []obj
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		m, ok := v.(obj)
		if !ok {
			// A list at the top (file_sd target files) is wrapped.
			m = obj{"items": v}
		}
		out = append(out, m)
	}
}

// get walks keys through nested mappings and returns nil where one is
// missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := get(v, keys...).(string)
	return s
}

func list(v any, keys ...string) []any {
	l, _ := get(v, keys...).([]any)
	return l
}

func mapping(v any, keys ...string) obj {
	m, _ := get(v, keys...).(obj)
	return m
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels obj) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

var workloadKinds = []string{"Deployment", "StatefulSet", "DaemonSet"}

func (l *linter) kubernetes(all map[string][]doc) {
	var docs []doc
	for file, ds := range all {
		if !strings.HasPrefix(filepath.ToSlash(file), "kubernetes/") {
			continue
		}
		if filepath.Base(file) == "kustomization.yaml" {
			l.kustomization(file, ds)
			continue
		}
		docs = append(docs, ds...)
	}
	named := map[string]map[string]doc{} // kind -> name -> doc
	for _, d := range docs {
		if str(d.v, "apiVersion") == "" || d.kind() == "" || d.name() == "" {
			l.addf("%s: a document lacks apiVersion, kind or metadata.name", d.file)
			continue
		}
		if named[d.kind()] == nil {
			named[d.kind()] = map[string]doc{}
		}
		if _, dup := named[d.kind()][d.name()]; dup {
			l.addf("%s: defined twice", d)
		}
		named[d.kind()][d.name()] = d
		if d.kind() != "Namespace" && str(d.v, "metadata", "namespace") != "nocontact" {
			l.addf("%s: metadata.namespace is not nocontact", d)
		}
		if str(d.v, "metadata", "labels", "app.kubernetes.io/part-of") != "nocontact" {
			l.addf("%s: lacks the label app.kubernetes.io/part-of: nocontact", d)
		}
	}
	for _, d := range docs {
		if slices.Contains(workloadKinds, d.kind()) {
			l.workload(d, named)
		}
	}
	for _, d := range named["Service"] {
		l.service(d, named)
	}
	if cm, ok := named["ConfigMap"]["nats-config"]; ok {
		want, err := os.ReadFile(filepath.Join(l.dir, "nats", "nats.conf"))
		if err != nil {
			l.addf("nats/nats.conf: %v", err)
		} else if got := str(cm.v, "data", "nats.conf"); got != string(want) {
			l.addf("%s: data nats.conf differs from nats/nats.conf (copy the file into the ConfigMap again)", cm)
		}
	} else {
		l.addf("kubernetes: no ConfigMap nats-config with the NATS configuration")
	}
}

func (l *linter) kustomization(file string, ds []doc) {
	for _, d := range ds {
		for _, r := range list(d.v, "resources") {
			p, _ := r.(string)
			if _, err := os.Stat(filepath.Join(l.dir, filepath.Dir(file), p)); err != nil {
				l.addf("%s: resource %q: %v", file, p, err)
			}
		}
	}
}

func (l *linter) workload(d doc, named map[string]map[string]doc) {
	spec := mapping(d.v, "spec")
	tmpl := mapping(spec, "template")
	labels := mapping(tmpl, "metadata", "labels")
	if !subset(mapping(spec, "selector", "matchLabels"), labels) {
		l.addf("%s: spec.selector.matchLabels do not select the pod template's labels", d)
	}
	pod := mapping(tmpl, "spec")
	if get(pod, "securityContext", "runAsNonRoot") != true {
		l.addf("%s: pod securityContext.runAsNonRoot is not true", d)
	}
	if str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		l.addf("%s: pod securityContext.seccompProfile.type is not RuntimeDefault", d)
	}
	volumes := map[string]bool{}
	for _, v := range list(pod, "volumes") {
		volumes[str(v, "name")] = true
	}
	for _, v := range list(spec, "volumeClaimTemplates") {
		volumes[str(v, "metadata", "name")] = true
	}
	if d.kind() == "StatefulSet" {
		svc, ok := named["Service"][str(spec, "serviceName")]
		if !ok || str(svc.v, "spec", "clusterIP") != "None" {
			l.addf("%s: serviceName %q is not a headless Service in these manifests", d, str(spec, "serviceName"))
		}
	}
	containers := list(pod, "containers")
	if len(containers) == 0 {
		l.addf("%s: no containers", d)
	}
	for _, c := range containers {
		l.container(d, c, volumes, named)
	}
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func (l *linter) container(d doc, c any, volumes map[string]bool, named map[string]map[string]doc) {
	name := str(c, "name")
	where := fmt.Sprintf("%s: container %s", d, name)
	if str(c, "image") == "" {
		l.addf("%s: no image", where)
	}
	for _, kind := range []string{"requests", "limits"} {
		for _, res := range []string{"cpu", "memory"} {
			if get(c, "resources", kind, res) == nil {
				l.addf("%s: no resources.%s.%s", where, kind, res)
			}
		}
	}
	sc := mapping(c, "securityContext")
	if sc["readOnlyRootFilesystem"] != true {
		l.addf("%s: securityContext.readOnlyRootFilesystem is not true", where)
	}
	if sc["allowPrivilegeEscalation"] != false {
		l.addf("%s: securityContext.allowPrivilegeEscalation is not false", where)
	}
	if !slices.Contains(list(sc, "capabilities", "drop"), any("ALL")) {
		l.addf("%s: securityContext.capabilities.drop lacks ALL", where)
	}
	ports := map[string]bool{}
	for _, p := range list(c, "ports") {
		ports[str(p, "name")] = true
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		p := mapping(c, probe)
		if p == nil {
			l.addf("%s: no %s", where, probe)
			continue
		}
		if port, ok := get(p, "httpGet", "port").(string); ok && !ports[port] {
			l.addf("%s: %s uses port %q, which the container does not name", where, probe, port)
		}
	}
	for _, m := range list(c, "volumeMounts") {
		if !volumes[str(m, "name")] {
			l.addf("%s: volumeMount %q has no volume", where, str(m, "name"))
		}
	}
	for _, e := range list(c, "envFrom") {
		if n := str(e, "configMapRef", "name"); n != "" {
			if _, ok := named["ConfigMap"][n]; !ok {
				l.addf("%s: envFrom ConfigMap %q is not defined", where, n)
			}
		}
	}
	defined := map[string]bool{}
	env := map[string]any{}
	for _, e := range list(c, "env") {
		n := str(e, "name")
		for _, ref := range envRef.FindAllStringSubmatch(str(e, "value"), -1) {
			if !defined[ref[1]] {
				l.addf("%s: env %s uses $(%s) before it is defined", where, n, ref[1])
			}
		}
		if s := str(e, "valueFrom", "secretKeyRef", "name"); s != "" {
			if _, ok := named["Secret"][s]; !ok {
				l.addf("%s: env %s: Secret %q is not defined", where, n, s)
			} else if get(named["Secret"][s].v, "stringData", str(e, "valueFrom", "secretKeyRef", "key")) == nil {
				l.addf("%s: env %s: Secret %q has no key %q", where, n, s, str(e, "valueFrom", "secretKeyRef", "key"))
			}
		}
		defined[n] = true
		env[n] = e
	}
	if name != "nocontact" {
		return
	}
	only := str(env["NOCONTACT_ONLY"], "value")
	if only == "" {
		l.addf("%s: NOCONTACT_ONLY is not set: a scaled-out container runs a named subset of the services", where)
	}
	if str(env["NOCONTACT_NATS"], "value") == "" {
		l.addf("%s: NOCONTACT_NATS is not set", where)
	}
	if slices.Contains(strings.Split(only, ","), "indexer") {
		if d.kind() != "StatefulSet" || len(list(d.v, "spec", "volumeClaimTemplates")) == 0 {
			l.addf("%s: the indexer keeps its index on a volume: it must be a StatefulSet with volumeClaimTemplates", where)
		}
		if str(env["NOCONTACT_INDEXER_DURABLE"], "valueFrom", "fieldRef", "fieldPath") != "metadata.name" {
			l.addf("%s: NOCONTACT_INDEXER_DURABLE must come from the pod name (fieldRef metadata.name): each replica needs its own consumer", where)
		}
	}
}

func (l *linter) service(d doc, named map[string]map[string]doc) {
	sel := mapping(d.v, "spec", "selector")
	var targets []doc
	for _, kind := range workloadKinds {
		for _, w := range named[kind] {
			if subset(sel, mapping(w.v, "spec", "template", "metadata", "labels")) {
				targets = append(targets, w)
			}
		}
	}
	if len(targets) == 0 {
		l.addf("%s: selects no workload", d)
		return
	}
	for _, p := range list(d.v, "spec", "ports") {
		tp, ok := get(p, "targetPort").(string)
		if !ok {
			continue
		}
		for _, w := range targets {
			found := false
			for _, c := range list(w.v, "spec", "template", "spec", "containers") {
				for _, cp := range list(c, "ports") {
					found = found || str(cp, "name") == tp
				}
			}
			if !found {
				l.addf("%s: targetPort %q is not a port of %s", d, tp, w)
			}
		}
	}
}

func (l *linter) compose(all map[string][]doc) {
	ds := all["docker-compose.yml"]
	if len(ds) != 1 {
		l.addf("docker-compose.yml: missing or not one document")
		return
	}
	c := ds[0].v
	services := mapping(c, "services")
	volumes := mapping(c, "volumes")
	networks := mapping(c, "networks")
	if len(services) == 0 {
		l.addf("docker-compose.yml: no services")
	}
	for name, s := range services {
		where := "docker-compose.yml: service " + name
		if str(s, "image") == "" && get(s, "build") == nil {
			l.addf("%s: neither image nor build", where)
		}
		deps := mapping(s, "depends_on")
		if deps == nil {
			deps = obj{}
			for _, dep := range list(s, "depends_on") {
				deps[fmt.Sprint(dep)] = nil
			}
		}
		for dep := range deps {
			if _, ok := services[dep]; !ok {
				l.addf("%s: depends on unknown service %q", where, dep)
			}
		}
		for _, n := range list(s, "networks") {
			if _, ok := networks[fmt.Sprint(n)]; !ok {
				l.addf("%s: network %q is not declared", where, n)
			}
		}
		for _, v := range list(s, "volumes") {
			src, _, _ := strings.Cut(fmt.Sprint(v), ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(filepath.Join(l.dir, src)); err != nil {
					l.addf("%s: bind mount %s: %v", where, src, err)
				}
			} else if _, ok := volumes[src]; !ok {
				l.addf("%s: volume %q is not declared", where, src)
			}
		}
		if get(s, "build") != nil { // a nocontact container
			env := mapping(s, "environment")
			if str(env, "NOCONTACT_ONLY") == "" {
				l.addf("%s: NOCONTACT_ONLY is not set", where)
			}
			if get(s, "read_only") != true || str(s, "user") == "" {
				l.addf("%s: nocontact containers run read-only as a non-root user", where)
			}
		}
	}
}

func (l *linter) grafana(all map[string][]doc) {
	uids := map[string]bool{}
	for _, d := range all[filepath.FromSlash("grafana/provisioning/datasources/prometheus.yml")] {
		for _, ds := range list(d.v, "datasources") {
			uids[str(ds, "uid")] = true
		}
	}
	if len(uids) == 0 {
		l.addf("grafana: no provisioned datasource with a uid")
	}
	files, _ := filepath.Glob(filepath.Join(l.dir, "grafana", "dashboards", "*.json"))
	seen := map[string]string{}
	for _, f := range files {
		rel, _ := filepath.Rel(l.dir, f)
		data, err := os.ReadFile(f)
		if err != nil {
			l.addf("%s: %v", rel, err)
			continue
		}
		var dash obj
		if err := json.Unmarshal(data, &dash); err != nil {
			continue // reported with the other JSON files
		}
		uid := str(dash, "uid")
		if uid == "" || str(dash, "title") == "" {
			l.addf("%s: a dashboard needs a uid and a title", rel)
		}
		if other, dup := seen[uid]; dup {
			l.addf("%s: uid %q is also used by %s", rel, uid, other)
		}
		seen[uid] = rel
		ids := map[float64]bool{}
		for _, p := range list(dash, "panels") {
			id, _ := get(p, "id").(float64)
			if ids[id] {
				l.addf("%s: panel id %v used twice", rel, id)
			}
			ids[id] = true
			switch t := str(p, "type"); t {
			case "timeseries", "stat", "gauge", "bargauge", "table", "piechart", "barchart", "text", "row", "heatmap", "histogram", "state-timeline", "status-history", "logs", "alertlist":
			default:
				l.addf("%s: panel %q has type %q, which is not a Grafana panel type", rel, str(p, "title"), t)
			}
			for _, ds := range append([]any{get(p, "datasource")}, targetsDatasources(p)...) {
				if u := str(ds, "uid"); ds != nil && !uids[u] {
					l.addf("%s: panel %q uses datasource uid %q, which is not provisioned", rel, str(p, "title"), u)
				}
			}
		}
	}
}

func targetsDatasources(panel any) []any {
	var out []any
	for _, t := range list(panel, "targets") {
		if ds := get(t, "datasource"); ds != nil {
			out = append(out, ds)
		}
	}
	return out
}

func (l *linter) prometheusTargets(all map[string][]doc) {
	for file, ds := range all {
		if !strings.HasPrefix(filepath.ToSlash(file), "prometheus/targets/") {
			continue
		}
		for _, d := range ds {
			for _, g := range list(d.v, "items") {
				if len(list(g, "targets")) == 0 || str(g, "labels", "component") == "" {
					l.addf("%s: every target group needs targets and a component label", file)
				}
			}
		}
	}
}
