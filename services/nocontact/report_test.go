package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
	"github.com/nocontact/nocontact/pkg/taxonomy"
	tu "github.com/nocontact/nocontact/pkg/testutil"
	"github.com/nocontact/nocontact/services/analytics"
)

const reportToken = "report-test-token"

type reportTokens struct{}

func (reportTokens) Lookup(token string) (auth.Principal, error) {
	if token != reportToken {
		return auth.Principal{}, auth.ErrUnknownToken
	}
	return auth.Principal{Name: "ops", Role: auth.RoleOps}, nil
}

// startAnalytics runs the analytics service with its routes on an httptest
// server, over a real embedded JetStream, with this data counted (UTC):
// 1 Nov: 4 orders; where_is_my_order by phone and by email, refund_status
// by chat. 2 Nov: 2 orders; where_is_my_order by chat. So 4 contacts per
// 6 orders; where_is_my_order 3 (cost 6+4+3 = 13), refund_status 1 (3).
func startAnalytics(t *testing.T) string {
	t.Helper()
	b := tu.Bus(t)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := analytics.New(ctx, analytics.Config{SnapshotEvery: time.Hour}, analytics.Deps{
		Bus: b, Taxonomy: tax, Metrics: bus.NewMetrics(reg), Log: tu.Logger(t), Registry: reg,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	router := httpx.NewRouter(reportTokens{}, reg, tu.Logger(t))
	svc.Routes(router)
	srv := httptest.NewServer(router.Handler())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	at := func(s string) *timestamppb.Timestamp {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return timestamppb.New(v)
	}
	var events []bus.Event
	for i, placed := range []string{"2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "2026-11-01T03:00:00Z", "2026-11-01T23:00:00Z", "2026-11-02T01:00:00Z", "2026-11-02T02:00:00Z"} {
		events = append(events, bus.Event{Subject: b.Subjects.OrderCreated, Msg: &pb.OrderCreated{Order: &pb.Order{OrderId: "o" + string(rune('a'+i)), PlacedAt: at(placed)}}})
	}
	for i, c := range []struct{ at, channel, reason string }{
		{"2026-11-01T09:00:00Z", "phone", "where_is_my_order"},
		{"2026-11-01T10:00:00Z", "email", "where_is_my_order"},
		{"2026-11-01T11:00:00Z", "chat", "refund_status"},
		{"2026-11-02T09:00:00Z", "chat", "where_is_my_order"},
	} {
		id := "rc" + string(rune('a'+i))
		events = append(events, bus.Event{Subject: b.Subjects.ContactTagged, ID: "tagged:" + id, Msg: &pb.ContactTagged{
			Contact: &pb.Contact{Id: id, Channel: c.channel, ReceivedAt: at(c.at), CustomerId: id},
			Tag:     &pb.Tag{Reason: c.reason},
		}})
	}
	if err := b.Publish(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	client := newClient(clientFlags{url: srv.URL, token: reportToken})
	tu.Eventually(t, 20*time.Second, func() bool {
		var rep analytics.CPXReport
		err := client.do(context.Background(), http.MethodGet, "/v1/metrics/cpx?from=2026-11-01&to=2026-11-02", "", nil, &rep)
		return err == nil && rep.Overall.Total.Contacts == 4 && rep.Overall.Total.Units == 6
	}, "analytics did not count the test data")
	return srv.URL
}

func TestReport(t *testing.T) {
	url := startAnalytics(t)
	base := []string{"--url", url, "--token", reportToken, "--from", "2026-11-01", "--to", "2026-11-02"}
	tests := []struct {
		name  string
		args  []string
		lines []string
		check func(t *testing.T, out []byte)
	}{
		{"cpx table", []string{"cpx", "--by", "reason"}, []string{
			"contacts per order, 2026-11-01 to 2026-11-02: 0.6667 (4 contacts, 6 orders)",
			"2026-11-01  3         4       0.7500",
			"2026-11-02  1         2       0.5000",
			"where_is_my_order  3         0.5000",
		}, nil},
		{"cpx weekly", []string{"cpx", "--interval", "week"}, []string{"2026-10-26  3         4       0.7500", "2026-11-02  1         2       0.5000"}, nil},
		{"pareto table", []string{"pareto"}, []string{
			"2026-11-01 to 2026-11-02: 4 contacts, cost 16.00",
			"where_is_my_order  logistics  3         75.0%  75.0%       13.00  yes",
			"refund_status      finance    1         25.0%  100.0%      3.00   yes",
		}, nil},
		{"matrix table", []string{"matrix"}, []string{"eliminate", "where_is_my_order", "refund_status"}, nil},
		{"cost table", []string{"cost", "--by", "reason"}, []string{"REASON", "where_is_my_order  3         0           13.00  81.2%"}, nil},
		{"repeat table", []string{"repeat", "--window", "24h"}, []string{"repeats within 24h", "(overall)          4         0        0.0%"}, nil},
		{"cpx csv", []string{"cpx", "--by", "channel", "--format", "csv"}, nil, func(t *testing.T, out []byte) {
			rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
			if err != nil || strings.Join(rows[0], ",") != "series,period,contacts,units,cpx" || len(rows) != 1+2+3*2 {
				t.Fatalf("csv %v %q", err, out)
			}
		}},
		{"pareto json", []string{"pareto", "--format", "json"}, nil, func(t *testing.T, out []byte) {
			var rep analytics.ParetoReport
			if err := json.Unmarshal(out, &rep); err != nil || rep.Contacts != 4 || rep.Reasons[0].Reason != "where_is_my_order" || rep.Reasons[0].Share != 0.75 {
				t.Fatalf("json %v %s", err, out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append(append([]string{}, tt.args[0]), append(append([]string{}, base...), tt.args[1:]...)...)
			if err := runReport(context.Background(), args, &out, &errb); err != nil {
				t.Fatalf("report %v: %v (%s)", args, err, errb.String())
			}
			for _, l := range tt.lines {
				if !strings.Contains(out.String(), l) {
					t.Errorf("no %q in:\n%s", l, out.String())
				}
			}
			if tt.check != nil {
				tt.check(t, out.Bytes())
			}
		})
	}
}

func TestReportErrors(t *testing.T) {
	url := startAnalytics(t)
	tests := []struct {
		name    string
		args    []string
		usage   bool
		message string
		field   string
	}{
		{"no report", nil, true, "", ""},
		{"unknown report", []string{"funnel"}, true, "unknown report", ""},
		{"flag of another report", []string{"cpx", "--window", "7d"}, false, "--window applies to the repeat reports only", ""},
		{"bad format", []string{"pareto", "--format", "xml"}, false, "--format must be table, csv or json", ""},
		{"server rejects the day", []string{"cost", "--from", "2026-13-01"}, false, "", "from"},
		{"server rejects by", []string{"cpx", "--by", "customer"}, false, "", "by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if len(args) > 0 {
				args = append(append([]string{}, args...), "--url", url, "--token", reportToken)
			}
			var out, errb bytes.Buffer
			err := runReport(context.Background(), args, &out, &errb)
			if err == nil {
				t.Fatalf("no error; printed %s", out.String())
			}
			if tt.usage != errors.Is(err, errUsage) {
				t.Errorf("usage error %v, want %v: %v", errors.Is(err, errUsage), tt.usage, err)
			}
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q, want %q", err, tt.message)
			}
			var ae *apiError
			if tt.field != "" && (!errors.As(err, &ae) || ae.Field != tt.field || ae.Status != http.StatusBadRequest) {
				t.Errorf("error %v, want a 400 naming %s", err, tt.field)
			}
		})
	}
}
