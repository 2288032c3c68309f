package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/nocontact/nocontact/pkg/pb"
)

const (
	ctJSON   = "application/json"
	ctNDJSON = "application/x-ndjson"
)

// testNow is the clock of every test: received_at and placed_at default to
// it and the future check is relative to it.
func testNow() time.Time { return time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) }

// errorCase is a body that must be rejected with exactly this error.
type errorCase struct {
	name   string
	ct     string
	body   string
	lim    Limits
	status int
	code   string
	item   int
	field  string
	msg    string // substring the message must hold, if set
}

// contactErrorCases covers every rule of DecodeContacts that rejects a body.
func contactErrorCases() []errorCase {
	zh := strings.Repeat("退", 20001)
	many := func(n int, ct string) string {
		var b strings.Builder
		if ct == ctJSON {
			b.WriteString("[")
		}
		for i := range n {
			if i > 0 && ct == ctJSON {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"text":"item %d"}`, i)
			if ct == ctNDJSON {
				b.WriteString("\n")
			}
		}
		if ct == ctJSON {
			b.WriteString("]")
		}
		return b.String()
	}
	meta := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"k%d":"v"`, i)
		}
		return `{"text":"a","metadata":{` + strings.Join(parts, ",") + `}}`
	}
	return []errorCase{
		// Framing and syntax.
		{name: "empty body", ct: ctJSON, body: "", status: 400, code: CodeEmpty, item: -1},
		{name: "blank body", ct: ctJSON, body: " \n\t ", status: 400, code: CodeEmpty, item: -1},
		{name: "empty array", ct: ctJSON, body: " [ ] ", status: 400, code: CodeEmpty, item: -1},
		{name: "ndjson only blank lines", ct: ctNDJSON, body: "\n \r\n\n", status: 400, code: CodeEmpty, item: -1},
		{name: "unterminated object", ct: ctJSON, body: `{"text": "a"`, status: 400, code: CodeInvalidJSON, item: 0},
		{name: "unterminated string", ct: ctJSON, body: `{"text": "a`, status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "trailing comma in object", ct: ctJSON, body: `{"text": "a",}`, status: 400, code: CodeInvalidJSON, item: 0},
		{name: "missing colon", ct: ctJSON, body: `{"text" "a"}`, status: 400, code: CodeInvalidJSON, item: 0},
		{name: "single-quoted key", ct: ctJSON, body: `{'text': "a"}`, status: 400, code: CodeInvalidJSON, item: 0},
		{name: "missing comma between items", ct: ctJSON, body: `[{"text":"a"} {"text":"b"}]`, status: 400, code: CodeInvalidJSON, item: -1, msg: "byte 14"},
		{name: "trailing comma in array", ct: ctJSON, body: `[{"text":"a"},]`, status: 400, code: CodeInvalidJSON, item: 1},
		{name: "unclosed array", ct: ctJSON, body: `[{"text":"a"}`, status: 400, code: CodeInvalidJSON, item: -1},
		{name: "two objects as json", ct: ctJSON, body: `{"text":"a"} {"text":"b"}`, status: 400, code: CodeInvalidJSON, item: -1, msg: "x-ndjson"},
		{name: "garbage after array", ct: ctJSON, body: `[{"text":"a"}] x`, status: 400, code: CodeInvalidJSON, item: -1},
		{name: "raw control character", ct: ctJSON, body: "{\"text\": \"a\tb\"}", status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "invalid escape", ct: ctJSON, body: `{"text": "a\xb"}`, status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "short unicode escape", ct: ctJSON, body: `{"text": "\u12"}`, status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "backslash at the end", ct: ctJSON, body: `{"text": "a\`, status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "control character after an escape", ct: ctJSON, body: "{\"text\": \"a\\n\x01\"}", status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "bad hex in unicode escape", ct: ctJSON, body: `{"text": "\u12G4"}`, status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "bare word", ct: ctJSON, body: `{"text": hello}`, status: 400, code: CodeInvalidJSON, item: 0, field: "text"},
		{name: "top-level string", ct: ctJSON, body: `"hello"`, status: 400, code: CodeWrongType, item: -1},
		{name: "top-level null", ct: ctJSON, body: `null`, status: 400, code: CodeWrongType, item: -1},
		{name: "top-level garbage", ct: ctJSON, body: `hello`, status: 400, code: CodeInvalidJSON, item: -1},
		{name: "array item is a number", ct: ctJSON, body: `[{"text":"a"}, 1]`, status: 400, code: CodeWrongType, item: 1},
		{name: "array item is null", ct: ctJSON, body: `[null]`, status: 400, code: CodeWrongType, item: 0},
		{name: "nested array", ct: ctJSON, body: `[[{"text":"a"}]]`, status: 400, code: CodeWrongType, item: 0},

		// NDJSON.
		{name: "ndjson bad third line", ct: ctNDJSON, body: "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\",}\n{\"text\":\"d\"}\n",
			status: 400, code: CodeInvalidJSON, item: 2, msg: "line 3:"},
		{name: "ndjson bad item after blank line", ct: ctNDJSON, body: "{\"text\":\"a\"}\n\n{\"text\":\"b\"}\n{\"text\":1}\n",
			status: 400, code: CodeWrongType, item: 2, field: "text", msg: "line 4:"},
		{name: "ndjson array on a line", ct: ctNDJSON, body: "[{\"text\":\"a\"}]\n", status: 400, code: CodeWrongType, item: 0, msg: "line 1:"},
		{name: "ndjson object over two lines", ct: ctNDJSON, body: "{\"text\":\n\"a\"}\n", status: 400, code: CodeInvalidJSON, item: 0, field: "text", msg: "end of line"},
		{name: "ndjson two objects on a line", ct: ctNDJSON, body: "{\"text\":\"a\"} {\"text\":\"b\"}\n", status: 400, code: CodeInvalidJSON, item: 0, msg: "one JSON object per line"},
		{name: "ndjson unknown field", ct: ctNDJSON, body: "{\"text\":\"a\"}\n{\"text\":\"b\",\"chanel\":\"email\"}", status: 400, code: CodeUnknownField, item: 1, field: "chanel", msg: "line 2:"},

		// Content types.
		{name: "text/plain", ct: "text/plain", body: `{"text":"a"}`, status: 415, code: CodeUnsupportedMediaType, item: -1},
		{name: "form", ct: "application/x-www-form-urlencoded", body: `text=a`, status: 415, code: CodeUnsupportedMediaType, item: -1},
		{name: "latin1 charset", ct: "application/json; charset=iso-8859-1", body: `{"text":"a"}`, status: 415, code: CodeUnsupportedMediaType, item: -1},
		{name: "malformed content type", ct: "application/json; charset", body: `{"text":"a"}`, status: 415, code: CodeUnsupportedMediaType, item: -1},

		// Limits.
		{name: "too many items array", ct: ctJSON, body: many(3, ctJSON), lim: Limits{MaxItems: 2}, status: 413, code: CodeTooManyItems, item: 2},
		{name: "too many items ndjson", ct: ctNDJSON, body: many(3, ctNDJSON), lim: Limits{MaxItems: 2}, status: 413, code: CodeTooManyItems, item: 2, msg: "line 3:"},
		{name: "body over MaxBytes", ct: ctJSON, body: `{"text":"` + strings.Repeat("a", 91) + `"}`, lim: Limits{MaxBytes: 100}, status: 413, code: CodeBodyTooLarge, item: -1},
		{name: "text over MaxTextChars", ct: ctJSON, body: `{"text":"abcdef"}`, lim: Limits{MaxTextChars: 5}, status: 400, code: CodeTooLong, item: 0, field: "text"},
		{name: "chinese text 20001 runes", ct: ctJSON, body: `{"text":"` + zh + `"}`, status: 400, code: CodeTooLong, item: 0, field: "text", msg: "20001"},
		{name: "subject 1001 runes", ct: ctJSON, body: `{"subject":"` + strings.Repeat("é", 1001) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "subject"},
		{name: "external_id 201 runes", ct: ctJSON, body: `{"text":"a","external_id":"` + strings.Repeat("x", 201) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "external_id"},
		{name: "customer_id 201 runes", ct: ctJSON, body: `{"text":"a","customer_id":"` + strings.Repeat("x", 201) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "customer_id"},
		{name: "order_id 201 runes", ct: ctJSON, body: `{"text":"a","order_id":"` + strings.Repeat("x", 201) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "order_id"},
		{name: "product 201 runes", ct: ctJSON, body: `{"text":"a","product":"` + strings.Repeat("x", 201) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "product"},

		// UTF-8.
		{name: "invalid utf8 in text", ct: ctJSON, body: "{\"text\":\"caf\xe9\"}", status: 400, code: CodeInvalidUTF8, item: 0, field: "text"},
		{name: "invalid utf8 in second item subject", ct: ctJSON, body: "[{\"text\":\"a\"},{\"subject\":\"\xff\xfe\"}]", status: 400, code: CodeInvalidUTF8, item: 1, field: "subject"},
		{name: "invalid utf8 in escaped string", ct: ctJSON, body: "{\"text\":\"a\\n\xc3\"}", status: 400, code: CodeInvalidUTF8, item: 0, field: "text"},
		{name: "invalid utf8 in key", ct: ctJSON, body: "{\"te\xffxt\":\"a\"}", status: 400, code: CodeInvalidUTF8, item: 0},
		{name: "invalid utf8 in metadata key", ct: ctJSON, body: "{\"text\":\"a\",\"metadata\":{\"\xff\":\"b\"}}", status: 400, code: CodeInvalidUTF8, item: 0, field: "metadata"},
		{name: "invalid utf8 between items", ct: ctJSON, body: "[{\"text\":\"a\"}\xff]", status: 400, code: CodeInvalidUTF8, item: -1},
		{name: "invalid utf8 after body", ct: ctJSON, body: "{\"text\":\"a\"}\xc0", status: 400, code: CodeInvalidUTF8, item: -1},
		{name: "invalid utf8 on ndjson line 2", ct: ctNDJSON, body: "{\"text\":\"a\"}\n{\"text\":\"\xed\xa0\x80\"}\n", status: 400, code: CodeInvalidUTF8, item: 1, field: "text", msg: "line 2:"},
		{name: "lone surrogate escape", ct: ctJSON, body: `{"text":"a\ud800b"}`, status: 400, code: CodeInvalidUTF8, item: 0, field: "text"},
		{name: "reversed surrogate pair", ct: ctJSON, body: `{"text":"\ude00\ud83d"}`, status: 400, code: CodeInvalidUTF8, item: 0, field: "text"},

		// Fields: unknown, duplicate, missing, wrong type.
		{name: "unknown field recieved_at", ct: ctJSON, body: `{"text":"a","recieved_at":"2024-05-01T10:00:00Z"}`, status: 400, code: CodeUnknownField, item: 0, field: "recieved_at", msg: `did you mean "received_at"`},
		{name: "unknown field wrong case", ct: ctJSON, body: `{"Text":"a"}`, status: 400, code: CodeUnknownField, item: 0, field: "Text", msg: `"text"`},
		{name: "unknown field far from any", ct: ctJSON, body: `{"text":"a","sentiment":"angry"}`, status: 400, code: CodeUnknownField, item: 0, field: "sentiment", msg: "known fields are"},
		{name: "order field in a contact", ct: ctJSON, body: `{"text":"a","agent_reason":"x"}`, status: 400, code: CodeUnknownField, item: 0, field: "agent_reason"},
		{name: "duplicate key", ct: ctJSON, body: `{"text":"a","subject":"s","text":"b"}`, status: 400, code: CodeDuplicateField, item: 0, field: "text"},
		{name: "duplicate key via escape", ct: ctJSON, body: `{"text":"a","t\u0065xt":"b"}`, status: 400, code: CodeDuplicateField, item: 0, field: "text"},
		{name: "duplicate null key", ct: ctJSON, body: `{"channel":null,"text":"a","channel":"email"}`, status: 400, code: CodeDuplicateField, item: 0, field: "channel"},
		{name: "missing text and subject", ct: ctJSON, body: `{"channel":"email"}`, status: 400, code: CodeMissingField, item: 0, field: "text"},
		{name: "empty object", ct: ctJSON, body: `[{"text":"a"},{}]`, status: 400, code: CodeMissingField, item: 1, field: "text"},
		{name: "blank text and subject", ct: ctJSON, body: `{"text":"  \n ","subject":"\u3000"}`, status: 400, code: CodeMissingField, item: 0, field: "text"},
		{name: "null text", ct: ctJSON, body: `{"text":null}`, status: 400, code: CodeMissingField, item: 0, field: "text"},
		{name: "text is a number", ct: ctJSON, body: `{"text":42}`, status: 400, code: CodeWrongType, item: 0, field: "text", msg: "got a number"},
		{name: "text is an object", ct: ctJSON, body: `{"text":{"body":"a"}}`, status: 400, code: CodeWrongType, item: 0, field: "text"},
		{name: "subject is a boolean", ct: ctJSON, body: `{"subject":true}`, status: 400, code: CodeWrongType, item: 0, field: "subject"},
		{name: "external_id is a number", ct: ctJSON, body: `{"text":"a","external_id":12345}`, status: 400, code: CodeWrongType, item: 0, field: "external_id"},
		{name: "handle_seconds is a string", ct: ctJSON, body: `{"text":"a","handle_seconds":"abc"}`, status: 400, code: CodeWrongType, item: 0, field: "handle_seconds"},
		{name: "handle_seconds is a numeric string", ct: ctJSON, body: `{"text":"a","handle_seconds":"120"}`, status: 400, code: CodeWrongType, item: 0, field: "handle_seconds"},
		{name: "handle_seconds negative", ct: ctJSON, body: `{"text":"a","handle_seconds":-1}`, status: 400, code: CodeInvalidValue, item: 0, field: "handle_seconds"},
		{name: "handle_seconds over a day", ct: ctJSON, body: `{"text":"a","handle_seconds":86400.5}`, status: 400, code: CodeInvalidValue, item: 0, field: "handle_seconds"},
		{name: "handle_seconds overflows", ct: ctJSON, body: `{"text":"a","handle_seconds":1e400}`, status: 400, code: CodeInvalidValue, item: 0, field: "handle_seconds"},
		{name: "handle_seconds leading zero", ct: ctJSON, body: `{"text":"a","handle_seconds":012}`, status: 400, code: CodeInvalidJSON, item: 0},
		{name: "handle_seconds bare minus", ct: ctJSON, body: `{"text":"a","handle_seconds":-}`, status: 400, code: CodeInvalidJSON, item: 0, field: "handle_seconds"},
		{name: "handle_seconds bad fraction", ct: ctJSON, body: `{"text":"a","handle_seconds":1.}`, status: 400, code: CodeInvalidJSON, item: 0, field: "handle_seconds"},
		{name: "handle_seconds bad exponent", ct: ctJSON, body: `{"text":"a","handle_seconds":1e+}`, status: 400, code: CodeInvalidJSON, item: 0, field: "handle_seconds"},
		{name: "handle_seconds NaN", ct: ctJSON, body: `{"text":"a","handle_seconds":NaN}`, status: 400, code: CodeInvalidJSON, item: 0, field: "handle_seconds"},

		// Field values.
		{name: "unknown channel", ct: ctJSON, body: `{"text":"a","channel":"fax"}`, status: 400, code: CodeInvalidValue, item: 0, field: "channel", msg: "self_service"},
		{name: "channel is a number", ct: ctJSON, body: `{"text":"a","channel":1}`, status: 400, code: CodeWrongType, item: 0, field: "channel"},
		{name: "source with space", ct: ctJSON, body: `{"text":"a","source":"my crm"}`, status: 400, code: CodeInvalidValue, item: 0, field: "source"},
		{name: "source too long", ct: ctJSON, body: `{"text":"a","source":"` + strings.Repeat("s", 101) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "source"},
		{name: "received_at in the future", ct: ctJSON, body: `{"text":"a","received_at":"2024-06-02T12:00:01Z"}`, status: 400, code: CodeInvalidValue, item: 0, field: "received_at", msg: "future"},
		{name: "received_at future by offset", ct: ctJSON, body: `{"text":"a","received_at":"2024-06-02T08:00:01-04:01"}`, status: 400, code: CodeInvalidValue, item: 0, field: "received_at"},
		{name: "received_at before 2000", ct: ctJSON, body: `{"text":"a","received_at":"1999-12-31T23:59:59Z"}`, status: 400, code: CodeInvalidValue, item: 0, field: "received_at", msg: "before 2000"},
		{name: "received_at without offset", ct: ctJSON, body: `{"text":"a","received_at":"2024-05-01T10:00:00"}`, status: 400, code: CodeInvalidValue, item: 0, field: "received_at", msg: "RFC 3339"},
		{name: "received_at date only", ct: ctJSON, body: `{"text":"a","received_at":"2024-05-01"}`, status: 400, code: CodeInvalidValue, item: 0, field: "received_at"},
		{name: "received_at unix seconds", ct: ctJSON, body: `{"text":"a","received_at":1714557600}`, status: 400, code: CodeWrongType, item: 0, field: "received_at"},
		{name: "received_at month 13", ct: ctJSON, body: `{"text":"a","received_at":"2024-13-01T10:00:00Z"}`, status: 400, code: CodeInvalidValue, item: 0, field: "received_at"},
		{name: "locale word", ct: ctJSON, body: `{"text":"a","locale":"english"}`, status: 400, code: CodeInvalidValue, item: 0, field: "locale"},
		{name: "locale trailing dash", ct: ctJSON, body: `{"text":"a","locale":"en-"}`, status: 400, code: CodeInvalidValue, item: 0, field: "locale"},
		{name: "locale one letter", ct: ctJSON, body: `{"text":"a","locale":"e"}`, status: 400, code: CodeInvalidValue, item: 0, field: "locale"},
		{name: "locale bad region", ct: ctJSON, body: `{"text":"a","locale":"en-G1"}`, status: 400, code: CodeInvalidValue, item: 0, field: "locale"},
		{name: "locale bad numeric region", ct: ctJSON, body: `{"text":"a","locale":"es-41a"}`, status: 400, code: CodeInvalidValue, item: 0, field: "locale"},
		{name: "locale bad variant", ct: ctJSON, body: `{"text":"a","locale":"de-CH-199!"}`, status: 400, code: CodeInvalidValue, item: 0, field: "locale"},
		{name: "locale too long", ct: ctJSON, body: `{"text":"a","locale":"` + strings.Repeat("a", 36) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "locale"},
		{name: "reason with space", ct: ctJSON, body: `{"text":"a","reason":"refund status"}`, status: 400, code: CodeInvalidValue, item: 0, field: "reason"},
		{name: "reason with dash", ct: ctJSON, body: `{"text":"a","reason":"refund-status"}`, status: 400, code: CodeInvalidValue, item: 0, field: "reason"},
		{name: "reason 65 chars", ct: ctJSON, body: `{"text":"a","reason":"` + strings.Repeat("r", 65) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "reason"},
		{name: "metadata is a string", ct: ctJSON, body: `{"text":"a","metadata":"x"}`, status: 400, code: CodeWrongType, item: 0, field: "metadata"},
		{name: "metadata value is a number", ct: ctJSON, body: `{"text":"a","metadata":{"tier":1}}`, status: 400, code: CodeWrongType, item: 0, field: "metadata", msg: `"tier"`},
		{name: "metadata value is an object", ct: ctJSON, body: `{"text":"a","metadata":{"a":{"b":"c"}}}`, status: 400, code: CodeWrongType, item: 0, field: "metadata"},
		{name: "metadata 51 keys", ct: ctJSON, body: meta(51), status: 400, code: CodeTooLong, item: 0, field: "metadata"},
		{name: "metadata duplicate key", ct: ctJSON, body: `{"text":"a","metadata":{"a":"1","a":"2"}}`, status: 400, code: CodeDuplicateField, item: 0, field: "metadata"},
		{name: "metadata duplicate after trim", ct: ctJSON, body: `{"text":"a","metadata":{"a":"1"," a ":"2"}}`, status: 400, code: CodeDuplicateField, item: 0, field: "metadata"},
		{name: "metadata blank key", ct: ctJSON, body: `{"text":"a","metadata":{" ":"1"}}`, status: 400, code: CodeInvalidValue, item: 0, field: "metadata"},
		{name: "metadata key too long", ct: ctJSON, body: `{"text":"a","metadata":{"` + strings.Repeat("k", 101) + `":"1"}}`, status: 400, code: CodeTooLong, item: 0, field: "metadata"},
		{name: "metadata value too long", ct: ctJSON, body: `{"text":"a","metadata":{"k":"` + strings.Repeat("v", 1001) + `"}}`, status: 400, code: CodeTooLong, item: 0, field: "metadata"},
		{name: "metadata unclosed", ct: ctJSON, body: `{"text":"a","metadata":{"k":"v"`, status: 400, code: CodeInvalidJSON, item: 0, field: "metadata"},
	}
}

func TestDecodeContactsErrors(t *testing.T) {
	for _, tc := range contactErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeContacts(tc.ct, strings.NewReader(tc.body), tc.lim, testNow)
			if got != nil {
				t.Errorf("got %d contacts with the error, want none", len(got))
			}
			checkInputError(t, err, tc)
		})
	}
}

func checkInputError(t *testing.T, err error, tc errorCase) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *InputError %s", err, tc.code)
	}
	t.Log(ie)
	if ie.Status != tc.status || ie.Code != tc.code || ie.Item != tc.item || ie.Field != tc.field {
		t.Errorf("got status %d code %q item %d field %q, want %d %q %d %q (message %q)",
			ie.Status, ie.Code, ie.Item, ie.Field, tc.status, tc.code, tc.item, tc.field, ie.Message)
	}
	if !strings.Contains(ie.Message, tc.msg) {
		t.Errorf("message %q does not hold %q", ie.Message, tc.msg)
	}
	if ie.Message == "" || !strings.Contains(ie.Error(), ie.Message) || !strings.HasPrefix(ie.Error(), ie.Code) {
		t.Errorf("Error() = %q for message %q", ie.Error(), ie.Message)
	}
}

// okCase is a body that must decode; check asserts on what came out.
type okCase[T any] struct {
	name  string
	ct    string
	body  string
	lim   Limits
	check func(t *testing.T, items []T)
}

func contactOKCases() []okCase[*pb.Contact] {
	zh := strings.Repeat("退", 20000)
	return []okCase[*pb.Contact]{
		{name: "object with every field", ct: ctJSON, body: `{
			"external_id": " zd-1001 ", "source": "Zendesk", "channel": "Email",
			"received_at": "2024-05-31T09:30:00+02:00", "customer_id": "c-42", "order_id": "o-7",
			"product": "kettle", "locale": "EN-gb", "subject": " Where is my order? ",
			"text": "  I ordered a kettle two weeks ago.\n Still nothing.  ", "reason": "WISMO",
			"handle_seconds": 312.5, "metadata": {"tier": "gold", " queue ": " returns ", "empty": "", "gone": null}}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				want := &pb.Contact{ExternalId: "zd-1001", Source: "zendesk", Channel: "email",
					CustomerId: "c-42", OrderId: "o-7", Product: "kettle", Locale: "en-GB",
					Subject: "Where is my order?", Text: "I ordered a kettle two weeks ago.\n Still nothing.",
					AgentReason: "wismo", HandleSeconds: 312.5,
					Metadata: map[string]string{"tier": "gold", "queue": "returns", "empty": ""}}
				checkContact(t, cs[0], want, time.Date(2024, 5, 31, 7, 30, 0, 0, time.UTC))
			}},
		{name: "defaults applied", ct: "", body: `{"text":"hello"}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				checkContact(t, cs[0], &pb.Contact{Source: "api", Channel: "other", Text: "hello"}, testNow())
			}},
		{name: "null and blank mean absent", ct: ctJSON,
			body: `{"subject":"s","text":null,"source":" ","channel":null,"received_at":"","locale":null,"reason":"","handle_seconds":null,"metadata":null}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				checkContact(t, cs[0], &pb.Contact{Source: "api", Channel: "other", Subject: "s"}, testNow())
			}},
		{name: "subject only", ct: ctJSON, body: `{"subject":"refund please"}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				checkContact(t, cs[0], &pb.Contact{Source: "api", Channel: "other", Subject: "refund please"}, testNow())
			}},
		{name: "array keeps order", ct: "application/json; charset=UTF-8", body: ` [ {"text":"one"} , {"text":"two","channel":"chat"},{"text":"three"} ] `,
			check: func(t *testing.T, cs []*pb.Contact) {
				if len(cs) != 3 || cs[0].Text != "one" || cs[1].Text != "two" || cs[1].Channel != "chat" || cs[2].Text != "three" {
					t.Errorf("got %v", cs)
				}
			}},
		{name: "ndjson with blank lines and CRLF", ct: "application/x-ndjson; charset=utf-8",
			body: "\r\n{\"text\":\"one\"}\r\n\n  \n{\"text\":\"two\"}",
			check: func(t *testing.T, cs []*pb.Contact) {
				if len(cs) != 2 || cs[0].Text != "one" || cs[1].Text != "two" {
					t.Errorf("got %v", cs)
				}
			}},
		{name: "jsonl alias", ct: "application/jsonl", body: "{\"text\":\"one\"}\n",
			check: func(t *testing.T, cs []*pb.Contact) {
				if len(cs) != 1 {
					t.Errorf("got %d contacts", len(cs))
				}
			}},
		{name: "chinese text of 20000 runes", ct: ctJSON, body: `{"text":"` + zh + `","locale":"zh-hans-cn"}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				if cs[0].Text != zh || cs[0].Locale != "zh-Hans-CN" {
					t.Errorf("text of %d bytes, locale %q", len(cs[0].Text), cs[0].Locale)
				}
			}},
		{name: "chinese text and subject", ct: ctJSON, body: `{"subject":"退款","text":"我的订单还没到，请帮我查一下。","locale":"zh_CN"}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				if cs[0].Text != "我的订单还没到，请帮我查一下。" || cs[0].Subject != "退款" || cs[0].Locale != "zh-CN" {
					t.Errorf("got %v", cs[0])
				}
			}},
		{name: "escapes decoded", ct: ctJSON, body: `{"text":"line\none \"q\" \\ \/ \u00e9 \ud83d\ude00 \b\f\r über \t","s\u0075bject":"\u9000"}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				if cs[0].Text != "line\none \"q\" \\ / é 😀 \b\f\r über" || cs[0].Subject != "退" {
					t.Errorf("text %q subject %q", cs[0].Text, cs[0].Subject)
				}
			}},
		{name: "byte order mark skipped", ct: ctJSON, body: "\xef\xbb\xbf{\"text\":\"a\"}",
			check: func(t *testing.T, cs []*pb.Contact) {
				if len(cs) != 1 || cs[0].Text != "a" {
					t.Errorf("got %v", cs)
				}
			}},
		{name: "limits at their edge", ct: ctJSON, lim: Limits{MaxItems: 2, MaxBytes: 59, MaxTextChars: 5},
			body: `[{"text":"12345","handle_seconds":86400},{"text":"abc"}]  ` + "\n",
			check: func(t *testing.T, cs []*pb.Contact) {
				if len(cs) != 2 || cs[0].HandleSeconds != 86400 {
					t.Errorf("got %v", cs)
				}
			}},
		{name: "numbers", ct: ctNDJSON,
			body: "{\"text\":\"a\",\"handle_seconds\":0}\n{\"text\":\"a\",\"handle_seconds\":-0}\n{\"text\":\"a\",\"handle_seconds\":1.5e2}\n{\"text\":\"a\",\"handle_seconds\":1E-400}",
			check: func(t *testing.T, cs []*pb.Contact) {
				for i, want := range []float64{0, 0, 150, 0} {
					if got := cs[i].HandleSeconds; got != want || strconv.FormatFloat(got, 'g', -1, 64) == "-0" {
						t.Errorf("contact %d: handle_seconds %v, want %v", i, got, want)
					}
				}
			}},
		{name: "time edges", ct: ctNDJSON,
			body: "{\"text\":\"a\",\"received_at\":\"2000-01-01T00:00:00Z\"}\n{\"text\":\"a\",\"received_at\":\"2024-06-02T12:00:00Z\"}\n{\"text\":\"a\",\"received_at\":\"2024-05-31T23:59:59.123456789-05:00\"}",
			check: func(t *testing.T, cs []*pb.Contact) {
				want := []time.Time{
					time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
					time.Date(2024, 6, 2, 12, 0, 0, 0, time.UTC),
					time.Date(2024, 6, 1, 4, 59, 59, 123456789, time.UTC),
				}
				for i, w := range want {
					if got := cs[i].ReceivedAt.AsTime(); !got.Equal(w) {
						t.Errorf("contact %d: received_at %v, want %v", i, got, w)
					}
				}
			}},
		{name: "every channel", ct: ctNDJSON,
			body: "{\"text\":\"a\",\"channel\":\"phone\"}\n{\"text\":\"a\",\"channel\":\"email\"}\n{\"text\":\"a\",\"channel\":\"chat\"}\n{\"text\":\"a\",\"channel\":\"social\"}\n{\"text\":\"a\",\"channel\":\"web\"}\n{\"text\":\"a\",\"channel\":\"SELF_SERVICE\"}\n{\"text\":\"a\",\"channel\":\"other\"}\n",
			check: func(t *testing.T, cs []*pb.Contact) {
				for i, want := range []string{"phone", "email", "chat", "social", "web", "self_service", "other"} {
					if cs[i].Channel != want {
						t.Errorf("contact %d: channel %q, want %q", i, cs[i].Channel, want)
					}
				}
			}},
		{name: "locales", ct: ctNDJSON,
			body: "{\"text\":\"a\",\"locale\":\"en\"}\n{\"text\":\"a\",\"locale\":\"zh\"}\n{\"text\":\"a\",\"locale\":\"zh-Hans\"}\n{\"text\":\"a\",\"locale\":\"es-419\"}\n{\"text\":\"a\",\"locale\":\"de-CH-1996\"}\n{\"text\":\"a\",\"locale\":\"yue\"}\n",
			check: func(t *testing.T, cs []*pb.Contact) {
				for i, want := range []string{"en", "zh", "zh-Hans", "es-419", "de-CH-1996", "yue"} {
					if cs[i].Locale != want {
						t.Errorf("contact %d: locale %q, want %q", i, cs[i].Locale, want)
					}
				}
			}},
		{name: "source charset", ct: ctJSON, body: `{"text":"a","source":"Help-Desk_2.eu"}`,
			check: func(t *testing.T, cs []*pb.Contact) {
				if cs[0].Source != "help-desk_2.eu" {
					t.Errorf("source %q", cs[0].Source)
				}
			}},
		{name: "metadata of 50 keys and empty metadata", ct: ctNDJSON,
			body: "{\"text\":\"a\",\"metadata\":{}}\n" + fiftyKeys(),
			check: func(t *testing.T, cs []*pb.Contact) {
				if cs[0].Metadata != nil || len(cs[1].Metadata) != 50 || cs[1].Metadata["k49"] != "v49" {
					t.Errorf("metadata %v and %d keys", cs[0].Metadata, len(cs[1].Metadata))
				}
			}},
	}
}

func fiftyKeys() string {
	parts := make([]string, 50)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%d":"v%d"`, i, i)
	}
	return `{"text":"a","metadata":{` + strings.Join(parts, ",") + `}}`
}

func TestDecodeContacts(t *testing.T) {
	for _, tc := range contactOKCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeContacts(tc.ct, strings.NewReader(tc.body), tc.lim, testNow)
			if err != nil {
				t.Fatalf("DecodeContacts: %v", err)
			}
			tc.check(t, got)
		})
	}
}

func checkContact(t *testing.T, got, want *pb.Contact, receivedAt time.Time) {
	t.Helper()
	if got.GetReceivedAt() == nil || !got.GetReceivedAt().AsTime().Equal(receivedAt) {
		t.Errorf("received_at %v, want %v", got.GetReceivedAt().AsTime(), receivedAt)
	}
	if got.Id != "" || got.IngestedAt != nil {
		t.Errorf("id %q ingested_at %v, want them left to the caller", got.Id, got.IngestedAt)
	}
	g := fmt.Sprintf("%q %q %q %q %q %q %q %q %q %q %v",
		got.ExternalId, got.Source, got.Channel, got.CustomerId, got.OrderId, got.Product, got.Locale,
		got.Subject, got.Text, got.AgentReason, got.HandleSeconds)
	w := fmt.Sprintf("%q %q %q %q %q %q %q %q %q %q %v",
		want.ExternalId, want.Source, want.Channel, want.CustomerId, want.OrderId, want.Product, want.Locale,
		want.Subject, want.Text, want.AgentReason, want.HandleSeconds)
	if g != w {
		t.Errorf("got  %s\nwant %s", g, w)
	}
	if fmt.Sprint(got.Metadata) != fmt.Sprint(want.Metadata) {
		t.Errorf("metadata %v, want %v", got.Metadata, want.Metadata)
	}
}

func TestDecodeContactsBodyReader(t *testing.T) {
	t.Run("read at most MaxBytes+1", func(t *testing.T) {
		r := &countingReader{r: strings.NewReader(`{"text":"` + strings.Repeat("a", 1<<20) + `"}`)}
		_, err := DecodeContacts(ctJSON, r, Limits{MaxBytes: 1000}, testNow)
		checkInputError(t, err, errorCase{status: 413, code: CodeBodyTooLarge, item: -1})
		if r.n > 1001 {
			t.Errorf("read %d bytes, want at most 1001", r.n)
		}
	})
	t.Run("http.MaxBytesReader below MaxBytes", func(t *testing.T) {
		body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(`{"text":"abcdefghij"}`)), 10)
		_, err := DecodeContacts(ctJSON, body, Limits{}, testNow)
		checkInputError(t, err, errorCase{status: 413, code: CodeBodyTooLarge, item: -1, msg: "10 bytes"})
	})
	t.Run("read error is not an input error", func(t *testing.T) {
		boom := errors.New("connection reset")
		_, err := DecodeContacts(ctJSON, iotest.ErrReader(boom), Limits{}, testNow)
		var ie *InputError
		if !errors.Is(err, boom) || errors.As(err, &ie) {
			t.Errorf("err = %v, want the read error, not an *InputError", err)
		}
	})
	t.Run("MaxBytes of MaxInt64", func(t *testing.T) {
		if _, err := DecodeContacts(ctJSON, strings.NewReader(`{"text":"a"}`), Limits{MaxBytes: math.MaxInt64}, testNow); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("nil body is empty", func(t *testing.T) {
		_, err := DecodeContacts("", nil, Limits{}, testNow)
		checkInputError(t, err, errorCase{status: 400, code: CodeEmpty, item: -1})
	})
	t.Run("nil clock is time.Now", func(t *testing.T) {
		cs, err := DecodeContacts("", strings.NewReader(`{"text":"a"}`), Limits{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(cs[0].ReceivedAt.AsTime()); d < 0 || d > time.Minute {
			t.Errorf("received_at %v is not now", cs[0].ReceivedAt.AsTime())
		}
	})
	t.Run("one clock reading per request", func(t *testing.T) {
		calls := 0
		now := func() time.Time { calls++; return testNow() }
		if _, err := DecodeContacts(ctJSON, strings.NewReader(`[{"text":"a"},{"text":"b"}]`), Limits{}, now); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("now called %d times, want 1", calls)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestLimitsWithDefaults(t *testing.T) {
	got := Limits{MaxItems: -1, MaxTextChars: 7}.WithDefaults()
	want := Limits{MaxItems: DefaultMaxItems, MaxBytes: DefaultMaxBytes, MaxTextChars: 7}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestInputErrorString(t *testing.T) {
	e := &InputError{Status: 400, Code: CodeInvalidValue, Message: "bad", Item: 2, Field: "channel"}
	if got := e.Error(); got != "invalid_value: item 2: channel: bad" {
		t.Errorf("Error() = %q", got)
	}
	e = &InputError{Status: 413, Code: CodeBodyTooLarge, Message: "big", Item: -1}
	if got := e.Error(); got != "body_too_large: big" {
		t.Errorf("Error() = %q", got)
	}
}

// orderErrorCases covers every rule of DecodeOrders that rejects a body.
func orderErrorCases() []errorCase {
	products := func(n int) string {
		p := make([]string, n)
		for i := range p {
			p[i] = strconv.Quote("p" + strconv.Itoa(i))
		}
		return `{"order_id":"o","products":[` + strings.Join(p, ",") + `]}`
	}
	return []errorCase{
		{name: "empty", ct: ctJSON, body: "[]", status: 400, code: CodeEmpty, item: -1},
		{name: "missing order_id", ct: ctJSON, body: `{"amount":3}`, status: 400, code: CodeMissingField, item: 0, field: "order_id"},
		{name: "blank order_id", ct: ctJSON, body: `[{"order_id":"a"},{"order_id":"  "}]`, status: 400, code: CodeMissingField, item: 1, field: "order_id"},
		{name: "order_id is a number", ct: ctJSON, body: `{"order_id":12}`, status: 400, code: CodeWrongType, item: 0, field: "order_id"},
		{name: "order_id too long", ct: ctJSON, body: `{"order_id":"` + strings.Repeat("o", 201) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "order_id"},
		{name: "contact field in an order", ct: ctJSON, body: `{"order_id":"o","text":"a"}`, status: 400, code: CodeUnknownField, item: 0, field: "text"},
		{name: "typo placed_on", ct: ctJSON, body: `{"order_id":"o","placd_at":"2024-05-01T10:00:00Z"}`, status: 400, code: CodeUnknownField, item: 0, field: "placd_at", msg: "placed_at"},
		{name: "duplicate amount", ct: ctJSON, body: `{"order_id":"o","amount":1,"amount":2}`, status: 400, code: CodeDuplicateField, item: 0, field: "amount"},
		{name: "placed_at future", ct: ctJSON, body: `{"order_id":"o","placed_at":"2025-01-01T00:00:00Z"}`, status: 400, code: CodeInvalidValue, item: 0, field: "placed_at"},
		{name: "placed_at malformed", ct: ctJSON, body: `{"order_id":"o","placed_at":"yesterday"}`, status: 400, code: CodeInvalidValue, item: 0, field: "placed_at"},
		{name: "products is a string", ct: ctJSON, body: `{"order_id":"o","products":"kettle"}`, status: 400, code: CodeWrongType, item: 0, field: "products"},
		{name: "products holds a number", ct: ctJSON, body: `{"order_id":"o","products":["a",2]}`, status: 400, code: CodeWrongType, item: 0, field: "products", msg: "products[1]"},
		{name: "products holds null", ct: ctJSON, body: `{"order_id":"o","products":[null]}`, status: 400, code: CodeWrongType, item: 0, field: "products"},
		{name: "products holds a blank", ct: ctJSON, body: `{"order_id":"o","products":["a"," "]}`, status: 400, code: CodeInvalidValue, item: 0, field: "products"},
		{name: "products 101", ct: ctJSON, body: products(101), status: 400, code: CodeTooLong, item: 0, field: "products"},
		{name: "products trailing comma", ct: ctJSON, body: `{"order_id":"o","products":["a",]}`, status: 400, code: CodeInvalidJSON, item: 0, field: "products"},
		{name: "products unclosed", ct: ctJSON, body: `{"order_id":"o","products":["a"`, status: 400, code: CodeInvalidJSON, item: 0, field: "products"},
		{name: "product invalid utf8", ct: ctJSON, body: "{\"order_id\":\"o\",\"products\":[\"\xff\"]}", status: 400, code: CodeInvalidUTF8, item: 0, field: "products"},
		{name: "channel too long", ct: ctJSON, body: `{"order_id":"o","channel":"` + strings.Repeat("c", 51) + `"}`, status: 400, code: CodeTooLong, item: 0, field: "channel"},
		{name: "amount negative", ct: ctJSON, body: `{"order_id":"o","amount":-0.01}`, status: 400, code: CodeInvalidValue, item: 0, field: "amount"},
		{name: "amount is a string", ct: ctJSON, body: `{"order_id":"o","amount":"12.50"}`, status: 400, code: CodeWrongType, item: 0, field: "amount"},
		{name: "currency two letters", ct: ctJSON, body: `{"order_id":"o","currency":"US"}`, status: 400, code: CodeInvalidValue, item: 0, field: "currency"},
		{name: "currency symbol", ct: ctJSON, body: `{"order_id":"o","currency":"€"}`, status: 400, code: CodeInvalidValue, item: 0, field: "currency"},
		{name: "source invalid", ct: ctJSON, body: `{"order_id":"o","source":"shop/eu"}`, status: 400, code: CodeInvalidValue, item: 0, field: "source"},
		{name: "ndjson bad third order", ct: ctNDJSON, body: "{\"order_id\":\"a\"}\n{\"order_id\":\"b\"}\n{\"order_id\":\"c\",\"amount\":-1}\n", status: 400, code: CodeInvalidValue, item: 2, field: "amount", msg: "line 3:"},
		{name: "too many orders", ct: ctNDJSON, body: "{\"order_id\":\"a\"}\n{\"order_id\":\"b\"}\n", lim: Limits{MaxItems: 1}, status: 413, code: CodeTooManyItems, item: 1},
		{name: "xml", ct: "application/xml", body: "<order/>", status: 415, code: CodeUnsupportedMediaType, item: -1},
	}
}

func TestDecodeOrdersErrors(t *testing.T) {
	for _, tc := range orderErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeOrders(tc.ct, strings.NewReader(tc.body), tc.lim, testNow)
			if got != nil {
				t.Errorf("got %d orders with the error, want none", len(got))
			}
			checkInputError(t, err, tc)
		})
	}
}

func orderOKCases() []okCase[*pb.Order] {
	return []okCase[*pb.Order]{
		{name: "every field", ct: ctJSON,
			body: `{"order_id":" o-1 ","placed_at":"2024-05-30T10:00:00+01:00","customer_id":"c-9","products":[" kettle ","mug"],"channel":"App","amount":49.9,"currency":"eur","source":"Shopify"}`,
			check: func(t *testing.T, os []*pb.Order) {
				o := os[0]
				got := fmt.Sprintf("%q %v %q %q %q %v %q %q", o.OrderId, o.PlacedAt.AsTime(), o.CustomerId, o.Products, o.Channel, o.Amount, o.Currency, o.Source)
				want := fmt.Sprintf("%q %v %q %q %q %v %q %q", "o-1", time.Date(2024, 5, 30, 9, 0, 0, 0, time.UTC), "c-9", []string{"kettle", "mug"}, "App", 49.9, "EUR", "shopify")
				if got != want {
					t.Errorf("got  %s\nwant %s", got, want)
				}
			}},
		{name: "defaults", ct: ctNDJSON, body: "{\"order_id\":\"a\",\"products\":[]}\n{\"order_id\":\"b\",\"products\":null,\"amount\":0}\n",
			check: func(t *testing.T, os []*pb.Order) {
				for _, o := range os {
					if o.Source != "api" || !o.PlacedAt.AsTime().Equal(testNow()) || o.Products != nil || o.IngestedAt != nil {
						t.Errorf("got %v", o)
					}
				}
			}},
		{name: "100 products", ct: ctJSON, body: `{"order_id":"o","products":[` + strings.TrimSuffix(strings.Repeat(`"p",`, 100), ",") + `]}`,
			check: func(t *testing.T, os []*pb.Order) {
				if len(os[0].Products) != 100 {
					t.Errorf("%d products", len(os[0].Products))
				}
			}},
	}
}

func TestDecodeOrders(t *testing.T) {
	for _, tc := range orderOKCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeOrders(tc.ct, strings.NewReader(tc.body), tc.lim, testNow)
			if err != nil {
				t.Fatalf("DecodeOrders: %v", err)
			}
			tc.check(t, got)
		})
	}
}

// benchContacts renders n realistic contacts, about 300 bytes each, as a
// JSON array or NDJSON.
func benchContacts(n int, ndjson bool) []byte {
	texts := []string{
		"Hi, I ordered a kettle two weeks ago and it still has not arrived. The tracking page says it left the warehouse on Monday. Can you tell me where it is?",
		"The blender I received is broken, the lid does not close and it leaks. I would like a refund or a replacement please.",
		"我上周买的耳机到现在还没发货，订单号在下面，请帮我查一下什么时候能到。",
		"Can I change the delivery address for my order? I am moving next week and will not be home.",
		"I was charged twice for the same order, please refund one of the payments.",
	}
	channels := []string{"email", "chat", "phone", "web", "social"}
	var b bytes.Buffer
	if !ndjson {
		b.WriteByte('[')
	}
	for i := range n {
		if i > 0 && !ndjson {
			b.WriteByte(',')
		}
		locale := "en-GB"
		if i%5 == 2 {
			locale = "zh-CN"
		}
		fmt.Fprintf(&b, `{"external_id":"zd-%d","source":"zendesk","channel":%q,"received_at":"2024-05-%02dT%02d:%02d:00Z","customer_id":"c-%d","order_id":"o-%d","locale":%q,"subject":"Order o-%d","text":%q,"handle_seconds":%d,"metadata":{"queue":"tier1"}}`,
			i, channels[i%len(channels)], 1+i%28, i%24, i%60, i%997, i, locale, i, texts[i%len(texts)], 60+i%600)
		if ndjson {
			b.WriteByte('\n')
		}
	}
	if !ndjson {
		b.WriteByte(']')
	}
	return b.Bytes()
}

func BenchmarkDecodeContacts(b *testing.B) {
	for _, bc := range []struct {
		name   string
		n      int
		ndjson bool
	}{{"array-1000", 1000, false}, {"ndjson-1000", 1000, true}, {"array-10000", 10000, false}} {
		b.Run(bc.name, func(b *testing.B) {
			body := benchContacts(bc.n, bc.ndjson)
			ct := ctJSON
			if bc.ndjson {
				ct = ctNDJSON
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				cs, err := DecodeContacts(ct, bytes.NewReader(body), Limits{}, testNow)
				if err != nil || len(cs) != bc.n {
					b.Fatalf("got %d contacts, %v", len(cs), err)
				}
			}
			b.ReportMetric(float64(bc.n*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
