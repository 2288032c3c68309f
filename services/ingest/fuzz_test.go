package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nocontact/nocontact/pkg/pb"
)

// maxSeedBytes keeps the seed corpus small so that the fuzzer mutates fast;
// the larger table cases run as unit tests.
const maxSeedBytes = 8 << 10

// addSeeds adds the table cases to the corpus. Limits travel as small
// integers, 0 meaning the default, so that the fuzzer explores them too.
func addSeeds[T any](f *testing.F, errs []errorCase, oks []okCase[T]) {
	add := func(ct, body string, lim Limits) {
		if len(body) <= maxSeedBytes {
			f.Add(ct, []byte(body), uint8(min(lim.MaxItems, math.MaxUint8)),
				uint16(min(lim.MaxBytes, math.MaxUint16)), uint16(min(lim.MaxTextChars, math.MaxUint16)))
		}
	}
	for _, tc := range errs {
		add(tc.ct, tc.body, tc.lim)
	}
	for _, tc := range oks {
		add(tc.ct, tc.body, tc.lim)
	}
}

func fuzzLimits(maxItems uint8, maxBytes, maxText uint16) Limits {
	return Limits{MaxItems: int(maxItems), MaxBytes: int64(maxBytes), MaxTextChars: int(maxText)}.WithDefaults()
}

func FuzzDecodeContacts(f *testing.F) {
	addSeeds(f, contactErrorCases(), contactOKCases())
	f.Fuzz(func(t *testing.T, ct string, body []byte, maxItems uint8, maxBytes, maxText uint16) {
		lim := fuzzLimits(maxItems, maxBytes, maxText)
		cs, err := DecodeContacts(ct, bytes.NewReader(body), lim, testNow)
		if err != nil {
			checkFuzzError(t, err, cs == nil, ct, body, lim)
			return
		}
		checkAccepted(t, body, lim, len(cs))
		objs := referenceObjects(t, ct, body)
		for i, c := range cs {
			checkContactInvariants(t, i, c, lim)
			// encoding/json must read the same text and subject.
			for _, f := range []struct {
				name string
				got  string
			}{{"text", c.Text}, {"subject", c.Subject}} {
				want, _ := objs[i][f.name].(string)
				if got := f.got; got != strings.TrimSpace(want) {
					t.Fatalf("contact %d %s = %q, encoding/json reads %q", i, f.name, got, want)
				}
			}
		}
	})
}

func FuzzDecodeOrders(f *testing.F) {
	addSeeds(f, orderErrorCases(), orderOKCases())
	f.Fuzz(func(t *testing.T, ct string, body []byte, maxItems uint8, maxBytes, maxText uint16) {
		lim := fuzzLimits(maxItems, maxBytes, maxText)
		os, err := DecodeOrders(ct, bytes.NewReader(body), lim, testNow)
		if err != nil {
			checkFuzzError(t, err, os == nil, ct, body, lim)
			return
		}
		checkAccepted(t, body, lim, len(os))
		objs := referenceObjects(t, ct, body)
		for i, o := range os {
			if o.OrderId == "" || o.OrderId != strings.TrimSpace(o.OrderId) || !utf8.ValidString(o.OrderId) {
				t.Fatalf("order %d: order_id %q", i, o.OrderId)
			}
			if want, _ := objs[i]["order_id"].(string); o.OrderId != strings.TrimSpace(want) {
				t.Fatalf("order %d: order_id %q, encoding/json reads %q", i, o.OrderId, want)
			}
			for _, s := range append([]string{o.CustomerId, o.Channel, o.Currency, o.Source}, o.Products...) {
				if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
					t.Fatalf("order %d: string %q is not trimmed UTF-8", i, s)
				}
			}
			if len(o.Products) > maxProducts || !(o.Amount >= 0) || math.IsInf(o.Amount, 0) {
				t.Fatalf("order %d: %d products, amount %v", i, len(o.Products), o.Amount)
			}
			if o.Currency != "" && (len(o.Currency) != 3 || strings.ToUpper(o.Currency) != o.Currency || !isAlpha(o.Currency)) {
				t.Fatalf("order %d: currency %q", i, o.Currency)
			}
			checkSource(t, i, o.Source)
			checkTime(t, i, o.PlacedAt.AsTime(), o.PlacedAt.IsValid())
		}
	})
}

// checkFuzzError asserts that err is an *InputError a handler can answer.
func checkFuzzError(t *testing.T, err error, nothing bool, ct string, body []byte, lim Limits) {
	t.Helper()
	if !nothing {
		t.Fatalf("items returned with error %v", err)
	}
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %#v, want *InputError", err)
	}
	statuses := map[string]int{
		CodeInvalidJSON: 400, CodeInvalidUTF8: 400, CodeUnknownField: 400, CodeDuplicateField: 400,
		CodeMissingField: 400, CodeWrongType: 400, CodeInvalidValue: 400, CodeTooLong: 400, CodeEmpty: 400,
		CodeTooManyItems: 413, CodeBodyTooLarge: 413, CodeUnsupportedMediaType: 415,
	}
	if status, ok := statuses[ie.Code]; !ok || status != ie.Status {
		t.Fatalf("status %d with code %q", ie.Status, ie.Code)
	}
	if ie.Item < -1 || ie.Item > lim.MaxItems || ie.Message == "" || !utf8.ValidString(ie.Message) || !utf8.ValidString(ie.Field) {
		t.Fatalf("malformed error %#v", ie)
	}
	if _, ferr := framing(ct); ferr == nil && int64(len(body)) > lim.MaxBytes && ie.Code != CodeBodyTooLarge {
		t.Fatalf("body of %d bytes over %d gave %v", len(body), lim.MaxBytes, err)
	}
}

// checkAccepted asserts that an accepted body is UTF-8 and within the limits.
func checkAccepted(t *testing.T, body []byte, lim Limits, n int) {
	t.Helper()
	if n < 1 || n > lim.MaxItems || int64(len(body)) > lim.MaxBytes {
		t.Fatalf("%d items from %d bytes accepted under %+v", n, len(body), lim)
	}
	if !utf8.Valid(body) {
		t.Fatalf("accepted invalid UTF-8 %q", body)
	}
}

// referenceObjects decodes an accepted body with encoding/json into its
// objects, failing if encoding/json finds it malformed.
func referenceObjects(t *testing.T, ct string, body []byte) []map[string]any {
	t.Helper()
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	ndjson, err := framing(ct)
	if err != nil {
		t.Fatalf("accepted content type %q: %v", ct, err)
	}
	var values [][]byte
	if ndjson {
		for line := range bytes.SplitSeq(body, []byte("\n")) {
			if len(bytes.Trim(line, " \t\r")) > 0 {
				values = append(values, line)
			}
		}
	} else {
		values = [][]byte{body}
	}
	var objs []map[string]any
	for _, v := range values {
		if !json.Valid(v) {
			t.Fatalf("accepted %q, which encoding/json finds malformed", v)
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		switch x := x.(type) {
		case map[string]any:
			objs = append(objs, x)
		case []any:
			for _, e := range x {
				m, ok := e.(map[string]any)
				if !ok {
					t.Fatalf("accepted a non-object item %v", e)
				}
				objs = append(objs, m)
			}
		default:
			t.Fatalf("accepted a body of %T", x)
		}
	}
	return objs
}

func checkContactInvariants(t *testing.T, i int, c *pb.Contact, lim Limits) {
	t.Helper()
	if strings.TrimSpace(c.Text) == "" && strings.TrimSpace(c.Subject) == "" {
		t.Fatalf("contact %d has neither text nor subject", i)
	}
	strs := []string{c.ExternalId, c.Source, c.Channel, c.CustomerId, c.OrderId, c.Product, c.Locale, c.Subject, c.Text, c.AgentReason}
	for k, v := range c.Metadata {
		strs = append(strs, k, v)
		if k == "" || utf8.RuneCountInString(k) > maxMetadataKeyChars || utf8.RuneCountInString(v) > maxMetadataValueChars {
			t.Fatalf("contact %d: metadata %q=%q", i, k, v)
		}
	}
	for _, s := range strs {
		if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
			t.Fatalf("contact %d: string %q is not trimmed UTF-8", i, s)
		}
	}
	if n := utf8.RuneCountInString(c.Text); n > lim.MaxTextChars {
		t.Fatalf("contact %d: text of %d runes over %d", i, n, lim.MaxTextChars)
	}
	if n := utf8.RuneCountInString(c.Subject); n > maxSubjectChars {
		t.Fatalf("contact %d: subject of %d runes", i, n)
	}
	switch c.Channel {
	case "phone", "email", "chat", "social", "web", "self_service", "other":
	default:
		t.Fatalf("contact %d: channel %q", i, c.Channel)
	}
	if c.Locale != "" {
		if tag, ok := canonicalLocale(c.Locale); !ok || tag != c.Locale {
			t.Fatalf("contact %d: locale %q is not canonical", i, c.Locale)
		}
	}
	for j := 0; j < len(c.AgentReason); j++ {
		if b := c.AgentReason[j]; !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_') || len(c.AgentReason) > maxReasonChars {
			t.Fatalf("contact %d: reason %q", i, c.AgentReason)
		}
	}
	if !(c.HandleSeconds >= 0 && c.HandleSeconds <= maxHandleSeconds) || math.Signbit(c.HandleSeconds) {
		t.Fatalf("contact %d: handle_seconds %v", i, c.HandleSeconds)
	}
	if len(c.Metadata) > maxMetadataKeys {
		t.Fatalf("contact %d: %d metadata keys", i, len(c.Metadata))
	}
	checkSource(t, i, c.Source)
	checkTime(t, i, c.ReceivedAt.AsTime(), c.ReceivedAt.IsValid())
}

func checkSource(t *testing.T, i int, s string) {
	t.Helper()
	if s == "" || len(s) > maxSourceChars || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
		t.Fatalf("item %d: source %q", i, s)
	}
}

func checkTime(t *testing.T, i int, ts time.Time, valid bool) {
	t.Helper()
	if !valid || ts.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) || ts.After(testNow().Add(maxFuture)) {
		t.Fatalf("item %d: time %v (valid %v)", i, ts, valid)
	}
}
