package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
	"github.com/nocontact/nocontact/pkg/pb"
)

// Limits of the HTTP API.
const (
	// maxRangeDays is the longest from..to range a report covers (3 years).
	maxRangeDays = 1096
	// defaultRangeDays is the range when from is not given.
	defaultRangeDays = 30
	// maxUnitsBody is the largest POST /v1/units body.
	maxUnitsBody = 1 << 20
	// maxUnitCounts is the most day counts in one POST /v1/units.
	maxUnitCounts = 10000
	// defaultSeriesLimit is how many CPX series are returned by default.
	defaultSeriesLimit = 100
)

// Routes registers the report routes (ops and agent) and POST /v1/units
// (ops and ingest).
func (s *Service) Routes(r *httpx.Router) {
	readers := []auth.Role{auth.RoleOps, auth.RoleAgent}
	r.HandleFunc("GET /v1/metrics/cpx", readers, s.getCPX)
	r.HandleFunc("GET /v1/metrics/pareto", readers, s.getPareto)
	r.HandleFunc("GET /v1/metrics/matrix", readers, s.getMatrix)
	r.HandleFunc("GET /v1/metrics/cost", readers, s.getCost)
	r.HandleFunc("GET /v1/metrics/repeat", readers, s.getRepeat)
	r.HandleFunc("POST /v1/units", []auth.Role{auth.RoleOps, auth.RoleIngest}, s.postUnits)
}

func badParam(field, format string, args ...any) *httpx.Error {
	return httpx.Errorf(http.StatusBadRequest, "invalid_value", field, fmt.Sprintf(format, args...))
}

// queryParams checks that a request uses only the allowed parameters,
// each at most once.
func queryParams(r *http.Request, allowed ...string) (url.Values, *httpx.Error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "invalid_query", "", "query string: "+err.Error())
	}
	for key, vals := range v {
		if !slices.Contains(allowed, key) {
			return nil, httpx.Errorf(http.StatusBadRequest, "unknown_parameter", key,
				fmt.Sprintf("unknown query parameter %q (this route takes %s)", key, strings.Join(allowed, ", ")))
		}
		if len(vals) > 1 {
			return nil, badParam(key, "%s is given %d times; give it once", key, len(vals))
		}
	}
	return v, nil
}

// dateRange reads from and to (YYYY-MM-DD, both included). to defaults to
// today in the service's time zone and from to 30 days ending at to.
func (s *Service) dateRange(v url.Values) (Range, *httpx.Error) {
	var r Range
	if t := v.Get("to"); t != "" {
		d, err := ParseDay(t)
		if err != nil {
			return r, badParam("to", "to: %v", err)
		}
		r.To = d
	} else {
		r.To = DayOf(s.deps.Now(), s.loc)
	}
	if f := v.Get("from"); f != "" {
		d, err := ParseDay(f)
		if err != nil {
			return r, badParam("from", "from: %v", err)
		}
		r.From = d
		if v.Get("to") == "" && r.From > r.To {
			r.To = r.From
		}
	} else {
		r.From = r.To - defaultRangeDays + 1
	}
	if r.From > r.To {
		return r, badParam("to", "to (%s) is before from (%s)", r.To, r.From)
	}
	if r.Days() > maxRangeDays {
		return r, badParam("from", "from..to spans %d days; at most %d (3 years)", r.Days(), maxRangeDays)
	}
	return r, nil
}

func oneOf(v url.Values, field, def string, allowed ...string) (string, *httpx.Error) {
	x := v.Get(field)
	if x == "" {
		return def, nil
	}
	if !slices.Contains(allowed, x) {
		return "", badParam(field, "%s must be one of %s, not %q", field, strings.Join(allowed, ", "), x)
	}
	return x, nil
}

// unitParam reads unit (default order), which must have counts.
func (s *Service) unitParam(v url.Values) (string, *httpx.Error) {
	u := v.Get("unit")
	if u == "" || u == "orders" {
		return UnitOrder, nil
	}
	var known bool
	var names []string
	s.read(func(a *Aggregate) {
		known = a.HasUnit(u)
		names = a.UnitNames()
	})
	if !known {
		slices.Sort(names)
		return "", badParam("unit", "no counts of unit %q were recorded (known: %s); record them with POST /v1/units", u, strings.Join(names, ", "))
	}
	return u, nil
}

// ParseWindow reads a repeat window: a whole number of hours ("24h") or
// days ("7d").
func ParseWindow(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not a window like 7d or 24h", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a window like 7d or 24h", s)
	}
	switch s[len(s)-1] {
	case 'h':
		return time.Duration(n) * time.Hour, nil
	case 'd':
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return 0, fmt.Errorf("%q is not a window like 7d or 24h", s)
}

func formatWindow(d time.Duration) string {
	h := int(d / time.Hour)
	if h%24 == 0 {
		return strconv.Itoa(h/24) + "d"
	}
	return strconv.Itoa(h) + "h"
}

// wantsCSV reports whether the client asked for CSV (Accept: text/csv).
func wantsCSV(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/csv")
}

func (s *Service) respond(w http.ResponseWriter, r *http.Request, v any, table func() [][]string) {
	if wantsCSV(r) {
		writeCSV(w, table())
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) getCPX(w http.ResponseWriter, r *http.Request) {
	v, herr := queryParams(r, "unit", "interval", "from", "to", "by", "limit")
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	q := CPXQuery{Limit: defaultSeriesLimit}
	if q.Range, herr = s.dateRange(v); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	if q.Interval, herr = oneOf(v, "interval", IntervalDay, IntervalDay, IntervalWeek, IntervalMonth); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	if q.By, herr = oneOf(v, "by", "", ByReason, ByReasonParent, ByChannel, ByProduct, ByOwner, ByLocale); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			httpx.WriteError(w, badParam("limit", "limit must be a whole number from 1 to 1000"))
			return
		}
		q.Limit = n
	}
	if q.Unit, herr = s.unitParam(v); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	var rep CPXReport
	s.read(func(a *Aggregate) { rep = a.CPX(q) })
	s.respond(w, r, rep, func() [][]string { return cpxTable(rep) })
}

func (s *Service) getPareto(w http.ResponseWriter, r *http.Request) {
	v, herr := queryParams(r, "from", "to")
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	rg, herr := s.dateRange(v)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	var rep ParetoReport
	s.read(func(a *Aggregate) { rep = a.Pareto(rg) })
	s.respond(w, r, rep, func() [][]string { return paretoTable(rep) })
}

func (s *Service) getMatrix(w http.ResponseWriter, r *http.Request) {
	v, herr := queryParams(r, "from", "to", "unit")
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	rg, herr := s.dateRange(v)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	unit, herr := s.unitParam(v)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	var rep MatrixReport
	s.read(func(a *Aggregate) { rep = a.Matrix(rg, unit) })
	s.respond(w, r, rep, func() [][]string { return matrixTable(rep) })
}

func (s *Service) getCost(w http.ResponseWriter, r *http.Request) {
	v, herr := queryParams(r, "from", "to", "by")
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	rg, herr := s.dateRange(v)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	by, herr := oneOf(v, "by", CostByOwner, CostByOwner, CostByReason)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	var rep CostReport
	s.read(func(a *Aggregate) { rep = a.Cost(rg, by) })
	s.respond(w, r, rep, func() [][]string { return costTable(rep) })
}

func (s *Service) getRepeat(w http.ResponseWriter, r *http.Request) {
	v, herr := queryParams(r, "window", "from", "to")
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	rg, herr := s.dateRange(v)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	window, label := s.cfg.RepeatWindow, formatWindow(s.cfg.RepeatWindow)
	if x := v.Get("window"); x != "" {
		d, err := ParseWindow(x)
		if err != nil {
			httpx.WriteError(w, badParam("window", "window: %v", err))
			return
		}
		if d > s.cfg.MaxRepeatWindow {
			httpx.WriteError(w, badParam("window", "window %s is longer than the longest kept, %s", x, formatWindow(s.cfg.MaxRepeatWindow)))
			return
		}
		window, label = d, x
	}
	var rep RepeatReport
	s.read(func(a *Aggregate) { rep = a.Repeat(rg, int(window/time.Hour)) })
	rep.Window = label
	s.respond(w, r, rep, func() [][]string { return repeatTable(rep) })
}

// UnitCounts is one unit's daily counts in POST /v1/units.
type UnitCounts struct {
	Unit   string     `json:"unit"`
	Counts []DayCount `json:"counts"`
}

// DayCount is one day's count of a unit.
type DayCount struct {
	Day   string `json:"day"`
	Count *int64 `json:"count"`
}

// postUnits accepts {"unit","counts":[{"day","count"}]} or an array of
// them and publishes each on nc.unit.recorded; the consumer applies them.
func (s *Service) postUnits(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		httpx.WriteError(w, httpx.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "send application/json"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUnitsBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpx.WriteError(w, httpx.Errorf(http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("body is larger than %d bytes", maxUnitsBody)))
			return
		}
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "read_error", "", "could not read the request body: "+err.Error()))
		return
	}
	items, herr := decodeUnits(body)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	if herr := s.checkUnits(items); herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	now := timestamppb.New(s.deps.Now())
	events := make([]bus.Event, 0, len(items))
	accepted := 0
	names := make([]string, 0, len(items))
	for _, it := range items {
		ev := &pb.UnitsRecorded{
			Meta: &pb.EventMeta{EventId: bus.NewID(), OccurredAt: now, SchemaVersion: 1, Producer: "analytics"},
			Unit: it.Unit,
		}
		for _, c := range it.Counts {
			ev.Counts = append(ev.Counts, &pb.UnitCount{Day: c.Day, Count: *c.Count})
		}
		accepted += len(it.Counts)
		names = append(names, it.Unit)
		events = append(events, bus.Event{Subject: unitSubject(s.deps.Bus), ID: ev.Meta.EventId, Msg: ev})
	}
	if err := s.deps.Bus.Publish(r.Context(), events...); err != nil {
		s.log.Error().Err(err).Msg("publish units")
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "could not store the counts; nothing was accepted, retry later"))
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"accepted": accepted, "units": names})
}

// decodeUnits decodes one object or an array of objects strictly.
func decodeUnits(body []byte) ([]UnitCounts, *httpx.Error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, httpx.Errorf(http.StatusBadRequest, "invalid_json", "", `body is empty; send {"unit":"shipments","counts":[{"day":"2026-11-01","count":1234}]}`)
	}
	var raw []json.RawMessage
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, jsonError(err, -1)
		}
		if len(raw) == 0 {
			return nil, httpx.Errorf(http.StatusBadRequest, "invalid_value", "", "the array is empty")
		}
	} else {
		raw = []json.RawMessage{trimmed}
	}
	items := make([]UnitCounts, len(raw))
	for i, m := range raw {
		item := i
		if trimmed[0] != '[' {
			item = -1
		}
		dec := json.NewDecoder(bytes.NewReader(m))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&items[i]); err != nil {
			return nil, jsonError(err, item)
		}
		if dec.More() {
			return nil, withItem(httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "unexpected data after the JSON value"), item)
		}
	}
	return items, nil
}

func withItem(e *httpx.Error, item int) *httpx.Error {
	if item >= 0 {
		e.Item = &item
		e.Message = fmt.Sprintf("item %d: %s", item, e.Message)
	}
	return e
}

func jsonError(err error, item int) *httpx.Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if i := strings.LastIndex(field, "."); i >= 0 {
			field = field[i+1:]
		}
		return withItem(httpx.Errorf(http.StatusBadRequest, "invalid_type", field, fmt.Sprintf("%s must be %s, not a JSON %s", field, jsonKind(typeErr.Type.String()), typeErr.Value)), item)
	case errors.As(err, &syntaxErr):
		return withItem(httpx.Errorf(http.StatusBadRequest, "invalid_json", "", fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, err)), item)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return withItem(httpx.Errorf(http.StatusBadRequest, "unknown_field", field, fmt.Sprintf("unknown field %q (fields: unit, counts[].day, counts[].count)", field)), item)
	}
	return withItem(httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "malformed JSON: "+err.Error()), item)
}

func jsonKind(goType string) string {
	switch goType {
	case "int64", "*int64":
		return "a whole number"
	case "string":
		return "a string"
	}
	return "an array of {day, count} objects"
}

// checkUnits validates the decoded counts and the number of unit kinds.
func (s *Service) checkUnits(items []UnitCounts) *httpx.Error {
	total := 0
	var fresh []string
	for i, it := range items {
		item := i
		if len(items) == 1 {
			item = -1
		}
		switch {
		case it.Unit == UnitOrder || it.Unit == "orders":
			return withItem(badParam("unit", "orders are counted from POST /v1/orders (nc.order.created), not recorded here"), item)
		case !ValidUnitName(it.Unit):
			return withItem(badParam("unit", "unit %q must be lower_snake_case (a-z, 0-9, _), 1 to 64 characters, starting with a letter", it.Unit), item)
		case len(it.Counts) == 0:
			return withItem(badParam("counts", "counts is required: [{\"day\":\"YYYY-MM-DD\",\"count\":N}]"), item)
		}
		seen := map[string]bool{}
		for j, c := range it.Counts {
			if _, err := ParseDay(c.Day); err != nil {
				return withItem(badParam("day", "counts[%d].day: %v", j, err), item)
			}
			if seen[c.Day] {
				return withItem(badParam("day", "counts[%d].day: %s is given twice", j, c.Day), item)
			}
			seen[c.Day] = true
			if c.Count == nil {
				return withItem(badParam("count", "counts[%d].count is required", j), item)
			}
			if *c.Count < 0 {
				return withItem(badParam("count", "counts[%d].count must be 0 or more", j), item)
			}
		}
		total += len(it.Counts)
		if !slices.Contains(fresh, it.Unit) {
			fresh = append(fresh, it.Unit)
		}
	}
	if total > maxUnitCounts {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "too_many_items", "", fmt.Sprintf("%d day counts; at most %d per request", total, maxUnitCounts))
	}
	var known []string
	s.read(func(a *Aggregate) { known = a.UnitNames() })
	kinds := len(known) - 1
	for _, u := range fresh {
		if !slices.Contains(known, u) {
			kinds++
		}
	}
	if kinds > s.cfg.MaxUnits {
		return badParam("unit", "at most %d unit kinds may be recorded (have %d)", s.cfg.MaxUnits, len(known)-1)
	}
	return nil
}
