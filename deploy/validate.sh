#!/usr/bin/env bash
# Validates deploy/ without Docker or Kubernetes, on loopback only:
#
#   1. lint: every YAML/JSON file parses and the manifests agree with each
#      other (go run ./deploy/deploylint).
#   2. prometheus: promtool checks the configs and rules, runs the rule unit
#      tests, checks the dashboard's queries and that every nocontact_*
#      metric they use exists in the Go code.
#   3. nats: a 3-node JetStream cluster from deploy/nats/nats.conf forms,
#      elects a meta leader and refuses anonymous clients.
#   4. nocontact: `serve --only ingest,indexer`, `serve --only tagger` and
#      `serve --only analytics,defects,faq` start against the cluster and
#      become ready.
#   5. pipeline: a contact posted to ingest is tagged and found by search;
#      the analytics, defects and help-centre APIs answer.
#   6. scrape: Prometheus, run from a copy of deploy/prometheus with
#      loopback targets, scrapes the three processes (up == 1) and loads
#      the rules.
#
# Needs: go, curl, jq, promtool and prometheus (Debian: apt-get install -y
# curl jq prometheus). Everything listens on 127.0.0.1, on ports from
# VALIDATE_PORT_BASE (default 38400) to +99. Every process it starts is
# stopped on exit. Set NOCONTACT_BIN or NATS_SERVER_BIN to use prebuilt
# binaries, VALIDATE_KEEP=1 to keep the temporary directory (logs, data).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY=$ROOT/deploy
BASE=${VALIDATE_PORT_BASE:-38400}
NATS_CLIENT=($((BASE + 1)) $((BASE + 2)) $((BASE + 3)))
NATS_CLUSTER=($((BASE + 11)) $((BASE + 12)) $((BASE + 13)))
NATS_MONITOR=($((BASE + 21)) $((BASE + 22)) $((BASE + 23)))
NC_A_PORT=$((BASE + 31)) # ingest,indexer
NC_B_PORT=$((BASE + 32)) # tagger
NC_C_PORT=$((BASE + 33)) # analytics,defects,faq
PROM_PORT=$((BASE + 90))

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nocontact-validate.XXXXXX")
PIDS=()
PASSED=()
FAILED=()
SKIPPED=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "${VALIDATE_KEEP:-}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '    %s\n' "$*"; }
indent() { sed "s/^/      /"; }

# start NAME LOGFILE CMD...: runs CMD in the background and remembers it.
start() {
	local name=$1 logfile=$2
	shift 2
	"$@" >"$logfile" 2>&1 &
	PIDS+=($!)
	LAST_PID=$!
	log "started $name (pid $!), log $(basename "$logfile")"
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD until it succeeds. With
# WATCH set to a pid, gives up as soon as that process has exited.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ -n "${WATCH:-}" ] && ! kill -0 "$WATCH" 2>/dev/null; then
			log "the process exited while waiting for $what"
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			log "timed out after ${secs}s waiting for $what"
			return 1
		fi
		sleep 0.3
	done
}

# show_log FILE: the end of a log, for a failure report.
show_log() {
	[ -f "$1" ] || return 0
	log "--- last lines of $(basename "$1")"
	tail -n 15 "$1" | sed 's/^/      /'
}

# step NAME FUNCTION: runs a step and records PASS or FAIL. Steps after a
# failed step that they depend on are skipped.
step() {
	local name=$1 fn=$2
	echo "== $name"
	if "$fn"; then
		PASSED+=("$name")
		echo "PASS $name"
	else
		FAILED+=("$name")
		echo "FAIL $name"
	fi
}

skip() {
	SKIPPED+=("$1")
	echo "SKIP $1 ($2)"
}

failed() {
	local f
	for f in "${FAILED[@]}"; do [ "$f" = "$1" ] && return 0; done
	return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_tools() {
	local missing=() t
	for t in go curl jq promtool prometheus; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "FAIL tools: missing ${missing[*]}"
		echo "     install on Debian/Ubuntu: apt-get install -y curl jq prometheus (promtool comes with prometheus)"
		echo "     Go: https://go.dev/dl (the version in go.mod)"
		exit 1
	fi
	local p
	for p in "${NATS_CLIENT[@]}" "${NATS_CLUSTER[@]}" "${NATS_MONITOR[@]}" $NC_A_PORT $NC_B_PORT $NC_C_PORT $PROM_PORT; do
		if ! port_free "$p"; then
			echo "FAIL ports: 127.0.0.1:$p is in use; set VALIDATE_PORT_BASE to a free range (now $BASE)"
			exit 1
		fi
	done
	log "tools: $(go version | cut -d' ' -f3), $(promtool --version 2>&1 | head -n1 | cut -d' ' -f1-3), $(jq --version), curl $(curl --version | head -n1 | cut -d' ' -f2)"
	log "work directory: $TMP"
}

# ---------------------------------------------------------------- 1. lint
step_lint() {
	(cd "$ROOT" && go run ./deploy/deploylint deploy) 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

# ---------------------------------------------------------- 2. prometheus
step_prometheus() {
	local ok=0 out
	cd "$DEPLOY/prometheus" || return 1
	if out=$(promtool check config prometheus.yml 2>&1); then
		log "promtool check config prometheus.yml: ok"
	else
		indent <<<"$out"
		ok=1
	fi
	if out=$(promtool check config prometheus-kubernetes.yml 2>&1); then
		log "promtool check config prometheus-kubernetes.yml: ok"
	elif echo "$out" | grep -q 'kubernetes_sd_configs not found'; then
		# Debian builds Prometheus without Kubernetes discovery.
		log "promtool check config prometheus-kubernetes.yml: not checked, this promtool lacks kubernetes_sd_configs (Debian build)"
	else
		indent <<<"$out"
		ok=1
	fi
	local f
	for f in rules/*.rules.yml; do
		if out=$(promtool check rules "$f" 2>&1); then
			log "promtool check rules $f: $(echo "$out" | grep -o '[0-9]* rules found')"
		else
			indent <<<"$out"
			ok=1
		fi
	done
	for f in rules/*.rules.test.yml; do
		if out=$(promtool test rules "$f" 2>&1); then
			log "promtool test rules $f: ok"
		else
			indent <<<"$out"
			ok=1
		fi
	done
	# Dashboard queries: wrapped as recording rules so promtool parses them.
	local dash qrules="$TMP/dashboard-queries.rules.yml"
	for dash in "$DEPLOY"/grafana/dashboards/*.json; do
		jq -r --arg f "$(basename "$dash")" '
			"groups:\n  - name: \"" + $f + "\"\n    rules:",
			([.. | objects | select(has("expr")) | .expr] | to_entries[] |
			 "      - record: dashboard:q\(.key)\n        expr: \(.value | gsub("\\$__rate_interval"; "1m") | gsub("\\$__range"; "1h") | gsub("\\$__interval"; "1m") | tojson)")
		' "$dash" >"$qrules"
		if out=$(promtool check rules "$qrules" 2>&1); then
			log "dashboard $(basename "$dash"): $(echo "$out" | grep -o '[0-9]* rules found' | cut -d' ' -f1) queries parse"
		else
			indent <<<"$out"
			ok=1
		fi
	done
	# Every metric the rules and dashboards read is defined in the Go code.
	local m base missing=()
	# Every rules file (not only nocontact.rules.yml), comments left out.
	for m in $({ cat rules/*.rules.yml | grep -v "^\s*#"; cat "$DEPLOY"/grafana/dashboards/*.json; } | grep -o 'nocontact_[a-z0-9_]*[a-z0-9]' | sort -u); do
		base=$(echo "$m" | sed -E 's/_(bucket|sum|count)$//')
		grep -rqF --include='*.go' "\"$base\"" "$ROOT/pkg" "$ROOT/services" || missing+=("$m")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "metrics used by rules or dashboards but defined nowhere in pkg/ or services/: ${missing[*]}"
		ok=1
	else
		log "every nocontact_* metric in $(ls rules/*.rules.yml | xargs -n1 basename | paste -sd, -) and the dashboards is defined in the Go code"
	fi
	cd "$ROOT" || return 1
	return $ok
}

# ----------------------------------------------------------------- 3. nats
build_nats() {
	if [ -n "${NATS_SERVER_BIN:-}" ]; then
		cp "$NATS_SERVER_BIN" "$TMP/nats-server"
	else
		(cd "$ROOT" && go build -o "$TMP/nats-server" github.com/nats-io/nats-server/v2) || return 1
	fi
	log "$("$TMP/nats-server" --version)"
}

nats_node_ready() {
	local mon=$1
	curl -fsS "http://127.0.0.1:$mon/healthz" >/dev/null || return 1
	local jsz
	jsz=$(curl -fsS "http://127.0.0.1:$mon/jsz") || return 1
	[ "$(echo "$jsz" | jq -r '.meta_cluster.leader // ""')" != "" ] &&
		[ "$(echo "$jsz" | jq -r '.meta_cluster.cluster_size // 0')" = 3 ]
}

# anonymous_refused PORT: a client without credentials gets an
# authorization error.
anonymous_refused() {
	local reply
	reply=$(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n' >&3 && timeout 3 cat <&3 | head -c 2000) 2>/dev/null
	echo "$reply" | grep -q "Authorization Violation"
}

step_nats() {
	build_nats || return 1
	NATS_PASSWORD="nc$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	local i
	for i in 0 1 2; do
		mkdir -p "$TMP/nats-$((i + 1))"
		start "nats-$((i + 1))" "$TMP/nats-$((i + 1)).log" env \
			NATS_SERVER_NAME="nats-$((i + 1))" \
			NATS_CLIENT_PORT="${NATS_CLIENT[$i]}" \
			NATS_CLUSTER_PORT="${NATS_CLUSTER[$i]}" \
			NATS_MONITOR_PORT="${NATS_MONITOR[$i]}" \
			NATS_ROUTE_1="nats-route://127.0.0.1:${NATS_CLUSTER[0]}" \
			NATS_ROUTE_2="nats-route://127.0.0.1:${NATS_CLUSTER[1]}" \
			NATS_ROUTE_3="nats-route://127.0.0.1:${NATS_CLUSTER[2]}" \
			NATS_STORE_DIR="$TMP/nats-$((i + 1))/jetstream" \
			NATS_PASSWORD="$NATS_PASSWORD" \
			"$TMP/nats-server" --config "$DEPLOY/nats/nats.conf" --addr 127.0.0.1 --cluster_listen "nats://127.0.0.1:${NATS_CLUSTER[$i]}"
	done
	for i in 0 1 2; do
		if ! wait_for 60 "nats-$((i + 1)) healthy with a JetStream meta leader" nats_node_ready "${NATS_MONITOR[$i]}"; then
			show_log "$TMP/nats-$((i + 1)).log"
			return 1
		fi
	done
	local leader routes
	leader=$(curl -fsS "http://127.0.0.1:${NATS_MONITOR[0]}/jsz" | jq -r '.meta_cluster.leader')
	routes=$(curl -fsS "http://127.0.0.1:${NATS_MONITOR[0]}/routez" | jq '[.routes[].remote_name] | unique | length')
	log "cluster formed: nats-1 routes to $routes other nodes, JetStream meta leader $leader"
	[ "$routes" = 2 ] || { log "nats-1 should route to 2 other nodes"; return 1; }
	if anonymous_refused "${NATS_CLIENT[0]}"; then
		log "a client without credentials is refused (Authorization Violation)"
	else
		log "a client without credentials was not refused"
		return 1
	fi
}

# ------------------------------------------------------------ 4. nocontact
build_nocontact() {
	if [ -n "${NOCONTACT_BIN:-}" ]; then
		cp "$NOCONTACT_BIN" "$TMP/nocontact"
	else
		(cd "$ROOT" && go build -o "$TMP/nocontact" ./services/nocontact) || return 1
	fi
	log "$("$TMP/nocontact" version 2>&1 | head -n1)"
}

ready() { curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null && curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null; }

step_nocontact() {
	build_nocontact || return 1
	ADMIN_TOKEN="validate-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	local urls="" i
	for i in 0 1 2; do
		urls+="${urls:+,}nats://nocontact:$NATS_PASSWORD@127.0.0.1:${NATS_CLIENT[$i]}"
	done
	# The first process provisions the streams; the second starts once it is
	# ready (both would do it idempotently, this only keeps the logs calm).
	start "nocontact ingest,indexer" "$TMP/nocontact-a.log" env NOCONTACT_ADMIN_TOKEN="$ADMIN_TOKEN" \
		"$TMP/nocontact" serve --http "127.0.0.1:$NC_A_PORT" --data "$TMP/nocontact-a" --nats "$urls" \
		--only ingest,indexer --indexer-durable indexer-validate --stream-replicas 3 --log-format json
	if ! WATCH=$LAST_PID wait_for 60 "nocontact ingest,indexer ready" ready "$NC_A_PORT"; then
		show_log "$TMP/nocontact-a.log"
		return 1
	fi
	start "nocontact tagger" "$TMP/nocontact-b.log" env NOCONTACT_ADMIN_TOKEN="$ADMIN_TOKEN" \
		"$TMP/nocontact" serve --http "127.0.0.1:$NC_B_PORT" --data "$TMP/nocontact-b" --nats "$urls" \
		--only tagger --stream-replicas 3 --log-format json
	if ! WATCH=$LAST_PID wait_for 60 "nocontact tagger ready" ready "$NC_B_PORT"; then
		show_log "$TMP/nocontact-b.log"
		return 1
	fi
	start "nocontact analytics,defects,faq" "$TMP/nocontact-c.log" env NOCONTACT_ADMIN_TOKEN="$ADMIN_TOKEN" \
		NOCONTACT_ANDON_SECRET="validate-andon-secret" \
		"$TMP/nocontact" serve --http "127.0.0.1:$NC_C_PORT" --data "$TMP/nocontact-c" --nats "$urls" \
		--only analytics,defects,faq --analytics-durable analytics-validate --trust-proxy \
		--stream-replicas 3 --log-format json
	if ! WATCH=$LAST_PID wait_for 60 "nocontact analytics,defects,faq ready" ready "$NC_C_PORT"; then
		show_log "$TMP/nocontact-c.log"
		return 1
	fi
	log "all three processes answer /healthz and /readyz (connected to the cluster)"
	local streams mon
	# Each node lists the streams it holds; together they hold them all.
	streams=$(for mon in "${NATS_MONITOR[@]}"; do
		curl -fsS "http://127.0.0.1:$mon/jsz?accounts=true&streams=true" | jq -r ".account_details[]?.stream_detail[]?.name"
	done | sort -u | paste -sd, -)
	log "streams provisioned on the cluster: ${streams:-none}"
	local replicas
	replicas=$(for mon in "${NATS_MONITOR[@]}"; do
		curl -fsS "http://127.0.0.1:$mon/jsz?accounts=true&streams=true&config=true" |
			jq -r ".account_details[]?.stream_detail[]? | select(.name | startswith(\"KV_\") | not) | \"\\(.name)=R\\(.config.num_replicas)\""
	done | sort -u | paste -sd" " -)
	log "stream replicas (--stream-replicas 3): $replicas"
	case " $replicas " in *=R1*) log "a stream has one replica despite --stream-replicas 3"; return 1 ;; esac
	local s
	for s in CONTACTS ORDERS DEFECTS SELFSERVICE DLQ; do
		case ",$streams," in
		*,"$s",*) ;;
		*) log "stream $s is missing"; return 1 ;;
		esac
	done
}

# ------------------------------------------------------------- 5. pipeline
search_tagged() {
	local res
	res=$(curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$NC_A_PORT/v1/contacts?q=$WORD") || return 1
	[ "$(echo "$res" | jq -r '.total')" = 1 ] || return 1
	REASON=$(echo "$res" | jq -r '.hits[0].reason // ""')
	[ -n "$REASON" ]
}

processed() { # PORT SERVICE: the consumer processed at least one message
	curl -fsS "http://127.0.0.1:$1/metrics" |
		awk -v s="service=\"$2\"" '$1 ~ /^nocontact_consumer_processed_total/ && index($1, s) && $2 >= 1 { ok = 1 } END { exit !ok }'
}

step_pipeline() {
	WORD="quokka$(head -c 512 /dev/urandom | LC_ALL=C tr -dc "[:lower:]" | head -c 8)"
	local body status
	body=$(jq -nc --arg w "$WORD" '{external_id: ("validate-" + $w), source: "validate", channel: "email",
		text: ("Where is my order? The parcel with the " + $w + " I ordered two weeks ago never arrived and the tracking has not changed.")}')
	status=$(curl -sS -o "$TMP/post.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN_TOKEN" \
		-H 'Content-Type: application/json' --data "$body" "http://127.0.0.1:$NC_A_PORT/v1/contacts")
	if [ "$status" != 202 ] || [ "$(jq -r '.accepted' "$TMP/post.json")" != 1 ]; then
		log "POST /v1/contacts answered $status: $(cat "$TMP/post.json")"
		return 1
	fi
	log "POST /v1/contacts: 202, contact $(jq -r '.ids[0]' "$TMP/post.json")"
	if ! wait_for 30 "GET /v1/contacts?q=$WORD to find the contact tagged" search_tagged; then
		show_log "$TMP/nocontact-b.log"
		show_log "$TMP/nocontact-a.log"
		return 1
	fi
	log "GET /v1/contacts?q=$WORD: found, reason $REASON"
	if processed "$NC_B_PORT" tagger && processed "$NC_A_PORT" indexer; then
		log "the tagger process tagged it and the ingest,indexer process indexed it (nocontact_consumer_processed_total)"
	else
		log "nocontact_consumer_processed_total does not show the tagger and indexer at work"
		return 1
	fi
	status=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NC_A_PORT/v1/contacts?q=$WORD")
	if [ "$status" != 401 ]; then
		log "search without a token answered $status, want 401"
		return 1
	fi
	log "search without a token: 401"
	# The services of the third process answer their routes.
	local path auth
	for path in /help/ "/v1/faq/search?q=parcel" /v1/articles /v1/metrics/selfservice /v1/metrics/cpx /v1/defects; do
		auth=(-H "Authorization: Bearer $ADMIN_TOKEN")
		case $path in /help/* | /v1/faq/search*) auth=() ;; esac # public
		status=$(curl -sS -o "$TMP/get.out" -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$NC_C_PORT$path")
		if [ "$status" != 200 ]; then
			log "GET $path answered $status: $(head -c 300 "$TMP/get.out")"
			return 1
		fi
	done
	log "analytics, defects and faq answer GET /help/, /v1/faq/search (no token), /v1/articles, /v1/metrics/selfservice, /v1/metrics/cpx, /v1/defects: 200"
}

# --------------------------------------------------------------- 6. scrape
targets_up() {
	local n
	n=$(curl -fsS "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode 'query=count(up{job="nocontact"} == 1)' |
		jq -r '.data.result[0].value[1] // "0"') || return 1
	[ "$n" = 3 ]
}

step_scrape() {
	local p="$TMP/prometheus"
	mkdir -p "$p/targets" "$p/data"
	cp "$DEPLOY/prometheus/prometheus.yml" "$p/"
	cp -r "$DEPLOY/prometheus/rules" "$p/"
	cat >"$p/targets/local.yml" <<EOF
- targets: ["127.0.0.1:$NC_A_PORT"]
  labels:
    component: ingest-indexer
- targets: ["127.0.0.1:$NC_B_PORT"]
  labels:
    component: tagger
- targets: ["127.0.0.1:$NC_C_PORT"]
  labels:
    component: analytics-defects-faq
EOF
	start prometheus "$TMP/prometheus.log" prometheus --config.file="$p/prometheus.yml" \
		--storage.tsdb.path="$p/data" --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
	if ! WATCH=$LAST_PID wait_for 30 "Prometheus ready" curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready"; then
		show_log "$TMP/prometheus.log"
		return 1
	fi
	if ! wait_for 60 "all three nocontact targets up" targets_up; then
		curl -fsS "http://127.0.0.1:$PROM_PORT/api/v1/targets" |
			jq -r '.data.activeTargets[] | "      \(.scrapeUrl) \(.health) \(.lastError)"'
		show_log "$TMP/prometheus.log"
		return 1
	fi
	curl -fsS "http://127.0.0.1:$PROM_PORT/api/v1/targets" |
		jq -r '.data.activeTargets[] | "    target \(.scrapeUrl) component=\(.labels.component) \(.health)"'
	local groups
	groups=$(curl -fsS "http://127.0.0.1:$PROM_PORT/api/v1/rules" | jq -r '[.data.groups[].name] | join(",")')
	log "rule groups loaded: $groups"
	case ",$groups," in
	*,nocontact.alerts,*) ;;
	*) log "nocontact.alerts is not loaded"; return 1 ;;
	esac
}

# ------------------------------------------------------------------- main
echo "deploy validation (ports 127.0.0.1:$BASE-$((BASE + 99)))"
check_tools
step "lint: YAML/JSON and manifest consistency" step_lint
step "prometheus: config, rules, rule tests, dashboard queries" step_prometheus
step "nats: 3-node JetStream cluster from deploy/nats" step_nats
if failed "nats: 3-node JetStream cluster from deploy/nats"; then
	skip "nocontact: ingest,indexer / tagger / analytics,defects,faq processes on the cluster" "needs the NATS cluster"
	skip "pipeline: post a contact, find it tagged" "needs the NATS cluster"
	skip "scrape: Prometheus scrapes the three processes" "needs the NATS cluster"
else
	step "nocontact: ingest,indexer / tagger / analytics,defects,faq processes on the cluster" step_nocontact
	if failed "nocontact: ingest,indexer / tagger / analytics,defects,faq processes on the cluster"; then
		skip "pipeline: post a contact, find it tagged" "needs the nocontact processes"
		skip "scrape: Prometheus scrapes the three processes" "needs the nocontact processes"
	else
		step "pipeline: post a contact, find it tagged" step_pipeline
		step "scrape: Prometheus scrapes the three processes" step_scrape
	fi
fi

echo
total=$((${#PASSED[@]} + ${#FAILED[@]} + ${#SKIPPED[@]}))
if [ ${#FAILED[@]} -gt 0 ] || [ ${#SKIPPED[@]} -gt 0 ]; then
	echo "deploy validation FAILED: ${#FAILED[@]} of $total steps failed, ${#SKIPPED[@]} skipped"
	exit 1
fi
echo "deploy validation passed: all $total steps"
