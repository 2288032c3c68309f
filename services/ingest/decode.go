package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nocontact/nocontact/pkg/pb"
)

// Defaults that Limits.WithDefaults puts in place of zero or negative fields.
const (
	DefaultMaxItems     = 10000
	DefaultMaxBytes     = 10 << 20
	DefaultMaxTextChars = 20000
)

// Codes of InputError, stable for clients to match on.
const (
	// CodeInvalidJSON: the body is not well-formed JSON (or NDJSON).
	CodeInvalidJSON = "invalid_json"
	// CodeInvalidUTF8: the body holds bytes that are not UTF-8, or a \u
	// escape of a lone UTF-16 surrogate, which has no UTF-8 form.
	CodeInvalidUTF8 = "invalid_utf8"
	// CodeUnknownField: an object has a field the API does not know.
	CodeUnknownField = "unknown_field"
	// CodeDuplicateField: an object names the same field twice.
	CodeDuplicateField = "duplicate_field"
	// CodeMissingField: a required field is absent, null or blank.
	CodeMissingField = "missing_field"
	// CodeWrongType: a value has the wrong JSON type (a number for a string...).
	CodeWrongType = "wrong_type"
	// CodeInvalidValue: a value has the right type but breaks a field rule
	// (unknown channel, malformed time or locale, negative amount...).
	CodeInvalidValue = "invalid_value"
	// CodeTooLong: a string has too many characters or a list or map too
	// many entries.
	CodeTooLong = "too_long"
	// CodeEmpty: the body holds no item at all.
	CodeEmpty = "empty"
	// CodeTooManyItems: the body holds more than Limits.MaxItems items.
	CodeTooManyItems = "too_many_items"
	// CodeBodyTooLarge: the body is longer than Limits.MaxBytes.
	CodeBodyTooLarge = "body_too_large"
	// CodeUnsupportedMediaType: the Content-Type is neither JSON nor NDJSON,
	// or declares a charset other than UTF-8.
	CodeUnsupportedMediaType = "unsupported_media_type"
)

// Field rules that are not configurable.
const (
	maxIDChars            = 200
	maxSourceChars        = 100
	maxSubjectChars       = 1000
	maxReasonChars        = 64
	maxHandleSeconds      = 86400
	maxMetadataKeys       = 50
	maxMetadataKeyChars   = 100
	maxMetadataValueChars = 1000
	maxProducts           = 100
	maxOrderChannelChars  = 50
	maxLocaleChars        = 35
	maxTimeChars          = 64
	maxFuture             = 24 * time.Hour
	defaultSource         = "api"
	defaultChannel        = "other"
	maxEcho               = 40 // characters of a client value quoted back in a message
)

// Limits bound what one request may hold. The zero value means the defaults.
type Limits struct {
	// MaxItems is the most contacts or orders in one body (DefaultMaxItems).
	MaxItems int
	// MaxBytes is the longest body accepted, in bytes (DefaultMaxBytes);
	// at most MaxBytes+1 bytes are ever read.
	MaxBytes int64
	// MaxTextChars is the longest contact text in characters (runes, not
	// bytes) after trimming (DefaultMaxTextChars).
	MaxTextChars int
}

// WithDefaults returns l with every zero or negative field replaced by its
// default.
func (l Limits) WithDefaults() Limits {
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxTextChars <= 0 {
		l.MaxTextChars = DefaultMaxTextChars
	}
	return l
}

// InputError is a client error in a request body: the HTTP layer answers it
// with Status and {"error": {"code", "message", "field"}}.
type InputError struct {
	// Status is the HTTP status: 400, 413 or 415.
	Status int
	// Code is one of the Code* constants.
	Code string
	// Message says what is wrong in words a client can act on. For NDJSON
	// it starts with the line number ("line 3: ..."); syntax errors give the
	// byte offset in the body.
	Message string
	// Item is the 0-based index of the offending contact or order in the
	// request (its ordinal among the NDJSON objects, not its line), or -1
	// when the error is about the body as a whole.
	Item int
	// Field is the JSON name of the offending field, or "" if none.
	Field string
}

// Error formats the error as "code: item N: field: message".
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Item >= 0 {
		b.WriteString(": item ")
		b.WriteString(strconv.Itoa(e.Item))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// DecodeContacts reads and validates the contacts of one request body.
//
// The body is one JSON object, a JSON array of objects, or NDJSON (one
// object per line, blank lines skipped). contentType picks the framing:
// application/x-ndjson (also application/ndjson, application/jsonl,
// application/x-jsonlines) means NDJSON; application/json or an empty
// content type means JSON; anything else, or a charset other than UTF-8,
// is a 415. A leading UTF-8 byte order mark is skipped.
//
// Decoding is all or nothing: the first problem aborts with an *InputError
// naming the item and field, and no contact is returned. Strings are trimmed
// and a blank string or null is the same as an absent field. Unknown and
// duplicate fields are errors, never silently dropped. Absent source, channel
// and received_at get "api", "other" and now(); now is called once per call
// (time.Now if nil). Id and IngestedAt are left for the caller to set.
//
// At most lim.MaxBytes+1 bytes are read from body. An error reading body
// other than an *http.MaxBytesError is returned wrapped, not as an
// *InputError.
func DecodeContacts(contentType string, body io.Reader, lim Limits, now func() time.Time) ([]*pb.Contact, error) {
	return decodeItems(contentType, body, lim, now, (*decoder).contact)
}

// DecodeOrders reads and validates the orders of one request body, with the
// same framing, limits and error rules as DecodeContacts. order_id is
// required; absent source and placed_at get "api" and now(). IngestedAt is
// left for the caller to set.
func DecodeOrders(contentType string, body io.Reader, lim Limits, now func() time.Time) ([]*pb.Order, error) {
	return decodeItems(contentType, body, lim, now, (*decoder).order)
}

func decodeItems[T any](contentType string, body io.Reader, lim Limits, now func() time.Time, one func(*decoder) (T, error)) ([]T, error) {
	lim = lim.WithDefaults()
	ndjson, err := framing(contentType)
	if err != nil {
		return nil, err
	}
	buf, err := readBody(body, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	d := &decoder{buf: buf, end: len(buf), lim: lim, now: now(), item: -1}
	if bytes.HasPrefix(buf, []byte("\xef\xbb\xbf")) {
		d.pos = 3
	}
	if ndjson {
		return decodeLines(d, one)
	}
	return decodeJSON(d, one)
}

// framing reports whether contentType announces NDJSON, or a 415.
func framing(contentType string) (ndjson bool, err error) {
	if strings.TrimSpace(contentType) == "" {
		return false, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, &InputError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType, Item: -1,
			Message: fmt.Sprintf("malformed Content-Type %s", quote(contentType))}
	}
	if cs, ok := params["charset"]; ok {
		switch strings.ToLower(cs) {
		case "utf-8", "utf8", "us-ascii":
		default:
			return false, &InputError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType, Item: -1,
				Message: fmt.Sprintf("charset %s is not supported; send UTF-8", quote(cs))}
		}
	}
	switch mt {
	case "application/json":
		return false, nil
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return true, nil
	}
	return false, &InputError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType, Item: -1,
		Message: fmt.Sprintf("Content-Type %s is not supported; send application/json or application/x-ndjson", quote(mt))}
}

// readBody reads all of body, but never more than max+1 bytes.
func readBody(body io.Reader, limit int64) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	buf, err := io.ReadAll(io.LimitReader(body, min(limit, math.MaxInt64-1)+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(min(limit, mbe.Limit))
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(buf)) > limit {
		return nil, tooLarge(limit)
	}
	return buf, nil
}

func tooLarge(limit int64) *InputError {
	return &InputError{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Item: -1,
		Message: fmt.Sprintf("body is larger than %d bytes; split it into several requests", limit)}
}

// decodeJSON decodes a body that is one object or an array of objects.
func decodeJSON[T any](d *decoder, one func(*decoder) (T, error)) ([]T, error) {
	d.skipWS()
	if d.pos >= d.end {
		return nil, d.fail(http.StatusBadRequest, CodeEmpty, "body is empty")
	}
	var items []T
	switch d.buf[d.pos] {
	case '{':
		d.item = 0
		it, err := one(d)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	case '[':
		d.pos++
		for i := 0; ; i++ {
			d.item, d.field = -1, ""
			d.skipWS()
			if d.pos < d.end && d.buf[d.pos] == ']' {
				if i == 0 {
					return nil, d.fail(http.StatusBadRequest, CodeEmpty, "array is empty")
				}
				d.pos++
				break
			}
			if i > 0 {
				if d.pos >= d.end || d.buf[d.pos] != ',' {
					return nil, d.syntax("',' or ']' after an item")
				}
				d.pos++
				d.skipWS()
			}
			if i >= d.lim.MaxItems {
				d.item = i
				return nil, d.fail(http.StatusRequestEntityTooLarge, CodeTooManyItems,
					"more than %d items; split them into several requests", d.lim.MaxItems)
			}
			d.item = i
			it, err := one(d)
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
	default:
		if kind, ok := d.kind(); ok {
			return nil, d.bad(CodeWrongType, "body must be a JSON object or an array of objects, got %s", kind)
		}
		return nil, d.syntax("'{' or '['")
	}
	d.item, d.field = -1, ""
	d.skipWS()
	if d.pos < d.end {
		if d.buf[d.pos] == '{' {
			return nil, d.bad(CodeInvalidJSON,
				"more than one JSON value at byte %d; send an array, or one object per line as application/x-ndjson", d.pos)
		}
		return nil, d.syntax("end of body")
	}
	return items, nil
}

// decodeLines decodes an NDJSON body: one object per line.
func decodeLines[T any](d *decoder, one func(*decoder) (T, error)) ([]T, error) {
	var items []T
	line := 0
	for start := d.pos; start < len(d.buf); {
		line++
		end := bytes.IndexByte(d.buf[start:], '\n')
		if end < 0 {
			end = len(d.buf)
		} else {
			end += start
		}
		d.pos, d.end = start, end
		start = end + 1
		d.skipWS()
		if d.pos == d.end {
			continue
		}
		d.line, d.field = line, ""
		d.item = len(items)
		if d.item >= d.lim.MaxItems {
			return nil, d.fail(http.StatusRequestEntityTooLarge, CodeTooManyItems,
				"more than %d items; split them into several requests", d.lim.MaxItems)
		}
		it, err := one(d)
		if err != nil {
			return nil, err
		}
		d.field = ""
		d.skipWS()
		if d.pos < d.end {
			return nil, d.syntax("end of line (one JSON object per line)")
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		d.line, d.item, d.field = 0, -1, ""
		return nil, d.fail(http.StatusBadRequest, CodeEmpty, "body has no object")
	}
	return items, nil
}

// decoder walks a JSON body byte by byte. It knows at each point which JSON
// type it wants, so it never recurses and keeps the item and field at hand
// for errors.
type decoder struct {
	buf   []byte
	pos   int
	end   int // end of the current region: the body, or the NDJSON line
	lim   Limits
	now   time.Time
	item  int    // index of the current item, -1 outside items
	line  int    // 1-based NDJSON line of the current item, 0 for JSON
	field string // JSON name of the field being decoded, "" if none

	keyScratch []byte // decoded object keys that hold escapes
	valScratch []byte // decoded string values that hold escapes
}

// fail builds the *InputError for the current item and field.
func (d *decoder) fail(status int, code, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if d.line > 0 {
		msg = "line " + strconv.Itoa(d.line) + ": " + msg
	}
	return &InputError{Status: status, Code: code, Message: msg, Item: d.item, Field: d.field}
}

// bad is fail with status 400.
func (d *decoder) bad(code, format string, args ...any) error {
	return d.fail(http.StatusBadRequest, code, format, args...)
}

// syntax reports the byte at d.pos where want was expected.
func (d *decoder) syntax(want string) error {
	if d.pos >= d.end {
		if d.line > 0 {
			return d.bad(CodeInvalidJSON, "unexpected end of line, want %s", want)
		}
		return d.bad(CodeInvalidJSON, "unexpected end of body at byte %d, want %s", d.pos, want)
	}
	c := d.buf[d.pos]
	if c < utf8.RuneSelf {
		return d.bad(CodeInvalidJSON, "unexpected %q at byte %d, want %s", c, d.pos, want)
	}
	r, size := utf8.DecodeRune(d.buf[d.pos:d.end])
	if r == utf8.RuneError && size <= 1 {
		return d.invalidUTF8(d.pos)
	}
	return d.bad(CodeInvalidJSON, "unexpected %q at byte %d, want %s", r, d.pos, want)
}

func (d *decoder) invalidUTF8(at int) error {
	return d.bad(CodeInvalidUTF8, "invalid UTF-8 at byte %d; send the body as UTF-8", at)
}

func (d *decoder) skipWS() {
	for d.pos < d.end {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// literal reports whether the JSON literal lit starts at d.pos.
func (d *decoder) literal(lit string) bool {
	return d.end-d.pos >= len(lit) && string(d.buf[d.pos:d.pos+len(lit)]) == lit
}

// null consumes a null at d.pos and reports whether there was one.
func (d *decoder) null() bool {
	if d.literal("null") {
		d.pos += 4
		return true
	}
	return false
}

// kind names the JSON type of the value at d.pos; ok is false when no valid
// value starts there.
func (d *decoder) kind() (name string, ok bool) {
	if d.pos >= d.end {
		return "", false
	}
	switch c := d.buf[d.pos]; {
	case c == '"':
		return "a string", true
	case c == '{':
		return "an object", true
	case c == '[':
		return "an array", true
	case c == '-' || c >= '0' && c <= '9':
		return "a number", true
	case d.literal("true"), d.literal("false"):
		return "a boolean", true
	case d.literal("null"):
		return "null", true
	}
	return "", false
}

// wrongType reports a value at d.pos that is not the wanted JSON type.
func (d *decoder) wrongType(want string) error {
	if got, ok := d.kind(); ok {
		return d.bad(CodeWrongType, "want %s, got %s", want, got)
	}
	return d.syntax(want)
}

// beginItem consumes the '{' that opens an item.
func (d *decoder) beginItem() error {
	if d.pos < d.end && d.buf[d.pos] == '{' {
		d.pos++
		return nil
	}
	if got, ok := d.kind(); ok {
		return d.bad(CodeWrongType, "each item must be a JSON object, got %s", got)
	}
	return d.syntax("'{'")
}

// nextKey reads the next member name of an object whose '{' is consumed,
// and the ':' after it; more is false at the closing '}'. The key is only
// valid until the next call.
func (d *decoder) nextKey(first bool) (key []byte, more bool, err error) {
	d.skipWS()
	if d.pos < d.end && d.buf[d.pos] == '}' && first {
		d.pos++
		return nil, false, nil
	}
	if !first {
		if d.pos < d.end && d.buf[d.pos] == '}' {
			d.pos++
			return nil, false, nil
		}
		if d.pos >= d.end || d.buf[d.pos] != ',' {
			return nil, false, d.syntax("',' or '}'")
		}
		d.pos++
		d.skipWS()
	}
	if d.pos >= d.end || d.buf[d.pos] != '"' {
		return nil, false, d.syntax("a field name in double quotes")
	}
	key, err = d.readString(&d.keyScratch)
	if err != nil {
		return nil, false, err
	}
	d.skipWS()
	if d.pos >= d.end || d.buf[d.pos] != ':' {
		return nil, false, d.syntax("':'")
	}
	d.pos++
	d.skipWS()
	return key, true, nil
}

// readString reads the string at d.pos (its opening quote) and returns its
// decoded bytes: a slice of the body when it has no escapes, else of
// *scratch.
func (d *decoder) readString(scratch *[]byte) ([]byte, error) {
	open := d.pos
	start := d.pos + 1
	i := start
	for i < d.end {
		c := d.buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return d.buf[start:i], nil
		case c == '\\':
			return d.readEscaped(open, i, scratch)
		case c < 0x20:
			d.pos = i
			return nil, d.bad(CodeInvalidJSON, "control character %U in a string at byte %d; escape it", c, i)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d.buf[i:d.end])
			if r == utf8.RuneError && size == 1 {
				return nil, d.invalidUTF8(i)
			}
			i += size
		}
	}
	return nil, d.unterminated(open)
}

// readEscaped finishes readString from i, the first backslash.
func (d *decoder) readEscaped(open, i int, scratch *[]byte) ([]byte, error) {
	out := append((*scratch)[:0], d.buf[open+1:i]...)
	for i < d.end {
		c := d.buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			*scratch = out
			return out, nil
		case c == '\\':
			if i+1 >= d.end {
				return nil, d.unterminated(open)
			}
			switch e := d.buf[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n, err := d.unicodeEscape(i)
				if err != nil {
					return nil, err
				}
				out = utf8.AppendRune(out, r)
				i += n
				continue
			default:
				d.pos = i
				return nil, d.bad(CodeInvalidJSON, "invalid escape %q in a string at byte %d", d.buf[i:i+2], i)
			}
			i += 2
		case c < 0x20:
			d.pos = i
			return nil, d.bad(CodeInvalidJSON, "control character %U in a string at byte %d; escape it", c, i)
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.buf[i:d.end])
			if r == utf8.RuneError && size == 1 {
				return nil, d.invalidUTF8(i)
			}
			out = append(out, d.buf[i:i+size]...)
			i += size
		}
	}
	return nil, d.unterminated(open)
}

func (d *decoder) unterminated(open int) error {
	d.pos = d.end
	if d.line > 0 {
		return d.bad(CodeInvalidJSON, "string at byte %d does not end on its line", open)
	}
	return d.bad(CodeInvalidJSON, "string at byte %d does not end", open)
}

// unicodeEscape decodes the \uXXXX escape at i (and the low half that must
// follow a high surrogate), returning the rune and the bytes consumed.
func (d *decoder) unicodeEscape(i int) (rune, int, error) {
	r, ok := hex4(d.buf[i+2 : min(i+6, d.end)])
	if !ok {
		d.pos = i
		return 0, 0, d.bad(CodeInvalidJSON, "invalid \\u escape in a string at byte %d", i)
	}
	if r < 0xd800 || r > 0xdfff {
		return r, 6, nil
	}
	if r <= 0xdbff && i+12 <= d.end && d.buf[i+6] == '\\' && d.buf[i+7] == 'u' {
		if lo, ok := hex4(d.buf[i+8 : i+12]); ok && lo >= 0xdc00 && lo <= 0xdfff {
			return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), 12, nil
		}
	}
	d.pos = i
	return 0, 0, d.bad(CodeInvalidUTF8, "lone UTF-16 surrogate \\u%04x at byte %d has no UTF-8 form", r, i)
}

func hex4(b []byte) (rune, bool) {
	if len(b) != 4 {
		return 0, false
	}
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// text reads a string or null for d.field and returns it trimmed; null
// gives "". A trimmed string of more than maxChars runes is too_long.
func (d *decoder) text(maxChars int) (string, error) {
	if d.null() {
		return "", nil
	}
	if d.pos >= d.end || d.buf[d.pos] != '"' {
		return "", d.wrongType("a string")
	}
	b, err := d.readString(&d.valScratch)
	if err != nil {
		return "", err
	}
	b = bytes.TrimSpace(b)
	if len(b) > maxChars {
		if n := utf8.RuneCount(b); n > maxChars {
			return "", d.bad(CodeTooLong, "%d characters, at most %d allowed", n, maxChars)
		}
	}
	return string(b), nil
}

// number reads a number or null for d.field; present is false for null.
func (d *decoder) number() (v float64, present bool, err error) {
	if d.null() {
		return 0, false, nil
	}
	start := d.pos
	i := start
	if i < d.end && d.buf[i] == '-' {
		i++
	}
	switch {
	case i < d.end && d.buf[i] == '0':
		i++
	case i < d.end && d.buf[i] >= '1' && d.buf[i] <= '9':
		i = d.digits(i)
	case i == start:
		return 0, false, d.wrongType("a number")
	default:
		d.pos = i
		return 0, false, d.syntax("a digit")
	}
	if i < d.end && d.buf[i] == '.' {
		if j := d.digits(i + 1); j > i+1 {
			i = j
		} else {
			d.pos = i + 1
			return 0, false, d.syntax("a digit")
		}
	}
	if i < d.end && (d.buf[i] == 'e' || d.buf[i] == 'E') {
		i++
		if i < d.end && (d.buf[i] == '+' || d.buf[i] == '-') {
			i++
		}
		if j := d.digits(i); j > i {
			i = j
		} else {
			d.pos = i
			return 0, false, d.syntax("a digit")
		}
	}
	d.pos = i
	v, err = strconv.ParseFloat(string(d.buf[start:i]), 64)
	if err != nil {
		return 0, false, d.bad(CodeInvalidValue, "number %s is out of range", quote(string(d.buf[start:i])))
	}
	if v == 0 {
		v = 0 // no negative zero
	}
	return v, true, nil
}

func (d *decoder) digits(i int) int {
	for i < d.end && d.buf[i] >= '0' && d.buf[i] <= '9' {
		i++
	}
	return i
}

// timestamp reads an RFC 3339 time or null for d.field. Times before 2000
// or more than a day after now are invalid (a wrong clock or unit).
func (d *decoder) timestamp() (*timestamppb.Timestamp, error) {
	s, err := d.text(maxTimeChars)
	if err != nil || s == "" {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, d.bad(CodeInvalidValue, "%s is not an RFC 3339 time with offset, like 2024-05-01T09:30:00Z", quote(s))
	}
	if t.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return nil, d.bad(CodeInvalidValue, "%s is before 2000", quote(s))
	}
	if t.After(d.now.Add(maxFuture)) {
		return nil, d.bad(CodeInvalidValue, "%s is more than a day in the future", quote(s))
	}
	return timestamppb.New(t), nil
}

// source reads the source field: lowercased, [a-z0-9_.-].
func (d *decoder) source() (string, error) {
	s, err := d.text(maxSourceChars)
	if err != nil || s == "" {
		return s, err
	}
	s = strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", d.bad(CodeInvalidValue, "%s may only hold letters, digits, '_', '.' and '-'", quote(s))
		}
	}
	return s, nil
}

// contact field numbers, bits of the seen mask.
const (
	cExternalID = iota
	cSource
	cChannel
	cReceivedAt
	cCustomerID
	cOrderID
	cProduct
	cLocale
	cSubject
	cText
	cReason
	cHandleSeconds
	cMetadata
)

// contactField maps a JSON name to its field number and canonical name.
func contactField(key []byte) (int, string) {
	switch string(key) {
	case "external_id":
		return cExternalID, "external_id"
	case "source":
		return cSource, "source"
	case "channel":
		return cChannel, "channel"
	case "received_at":
		return cReceivedAt, "received_at"
	case "customer_id":
		return cCustomerID, "customer_id"
	case "order_id":
		return cOrderID, "order_id"
	case "product":
		return cProduct, "product"
	case "locale":
		return cLocale, "locale"
	case "subject":
		return cSubject, "subject"
	case "text":
		return cText, "text"
	case "reason":
		return cReason, "reason"
	case "handle_seconds":
		return cHandleSeconds, "handle_seconds"
	case "metadata":
		return cMetadata, "metadata"
	}
	return -1, ""
}

func contactFieldNames() []string {
	return []string{"external_id", "source", "channel", "received_at", "customer_id", "order_id", "product",
		"locale", "subject", "text", "reason", "handle_seconds", "metadata"}
}

// fields walks the keys of the object at d.pos: each must be known to
// lookup (an unknown one is an error suggesting the nearest of names) and
// appear once; set decodes the value of field f.
func (d *decoder) fields(lookup func(key []byte) (int, string), names func() []string, set func(f int) error) error {
	var seen uint32
	for first := true; ; first = false {
		d.field = ""
		key, more, err := d.nextKey(first)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		f, name := lookup(key)
		if f < 0 {
			return d.unknownField(key, names())
		}
		d.field = name
		if seen&(1<<f) != 0 {
			return d.bad(CodeDuplicateField, "%s appears more than once", name)
		}
		seen |= 1 << f
		if err := set(f); err != nil {
			return err
		}
	}
}

// contact decodes one contact object at d.pos.
func (d *decoder) contact() (*pb.Contact, error) {
	if err := d.beginItem(); err != nil {
		return nil, err
	}
	c := &pb.Contact{}
	err := d.fields(contactField, contactFieldNames, func(f int) (err error) {
		switch f {
		case cExternalID:
			c.ExternalId, err = d.text(maxIDChars)
		case cSource:
			c.Source, err = d.source()
		case cChannel:
			c.Channel, err = d.channel()
		case cReceivedAt:
			c.ReceivedAt, err = d.timestamp()
		case cCustomerID:
			c.CustomerId, err = d.text(maxIDChars)
		case cOrderID:
			c.OrderId, err = d.text(maxIDChars)
		case cProduct:
			c.Product, err = d.text(maxIDChars)
		case cLocale:
			c.Locale, err = d.locale()
		case cSubject:
			c.Subject, err = d.text(maxSubjectChars)
		case cText:
			c.Text, err = d.text(d.lim.MaxTextChars)
		case cReason:
			c.AgentReason, err = d.reason()
		case cHandleSeconds:
			c.HandleSeconds, err = d.handleSeconds()
		case cMetadata:
			c.Metadata, err = d.metadata()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.Text == "" && c.Subject == "" {
		d.field = "text"
		return nil, d.bad(CodeMissingField, "text or subject is required and must not be blank")
	}
	d.field = ""
	if c.Source == "" {
		c.Source = defaultSource
	}
	if c.Channel == "" {
		c.Channel = defaultChannel
	}
	if c.ReceivedAt == nil {
		c.ReceivedAt = timestamppb.New(d.now)
	}
	return c, nil
}

// channel reads the contact channel, lowercased; unknown values are errors.
func (d *decoder) channel() (string, error) {
	s, err := d.text(maxIDChars)
	if err != nil || s == "" {
		return s, err
	}
	s = strings.ToLower(s)
	switch s {
	case "phone", "email", "chat", "social", "web", "self_service", "other":
		return s, nil
	}
	return "", d.bad(CodeInvalidValue, "%s is not a channel; use phone, email, chat, social, web, self_service or other", quote(s))
}

// locale reads a BCP 47 language tag and returns it in canonical case:
// language[-Script][-REGION][-variant...], '_' accepted for '-'.
func (d *decoder) locale() (string, error) {
	s, err := d.text(maxLocaleChars)
	if err != nil || s == "" {
		return s, err
	}
	tag, ok := canonicalLocale(s)
	if !ok {
		return "", d.bad(CodeInvalidValue, "%s is not a BCP 47 language tag like en, en-GB, zh-CN or zh-Hans", quote(s))
	}
	return tag, nil
}

func canonicalLocale(s string) (string, bool) {
	parts := strings.Split(strings.ReplaceAll(s, "_", "-"), "-")
	if len(parts[0]) < 2 || len(parts[0]) > 3 || !isAlpha(parts[0]) {
		return "", false
	}
	parts[0] = strings.ToLower(parts[0])
	i := 1
	if i < len(parts) && len(parts[i]) == 4 && isAlpha(parts[i]) {
		parts[i] = strings.ToUpper(parts[i][:1]) + strings.ToLower(parts[i][1:])
		i++
	}
	if i < len(parts) && (len(parts[i]) == 2 && isAlpha(parts[i]) || len(parts[i]) == 3 && isDigits(parts[i])) {
		parts[i] = strings.ToUpper(parts[i])
		i++
	}
	for ; i < len(parts); i++ {
		p := parts[i]
		if !(len(p) >= 5 && len(p) <= 8 && isAlnum(p) || len(p) == 4 && p[0] >= '0' && p[0] <= '9' && isAlnum(p)) {
			return "", false
		}
		parts[i] = strings.ToLower(p)
	}
	return strings.Join(parts, "-"), true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z') {
			return false
		}
	}
	return true
}

// reason reads an agent disposition code, lowercased, [a-z0-9_]{1,64}.
// Whether the taxonomy knows it is the tagger's concern.
func (d *decoder) reason() (string, error) {
	s, err := d.text(maxReasonChars)
	if err != nil || s == "" {
		return s, err
	}
	s = strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "", d.bad(CodeInvalidValue, "%s is not a reason code; use lowercase letters, digits and '_'", quote(s))
		}
	}
	return s, nil
}

func (d *decoder) handleSeconds() (float64, error) {
	v, present, err := d.number()
	if err != nil || !present {
		return 0, err
	}
	if v < 0 || v > maxHandleSeconds {
		return 0, d.bad(CodeInvalidValue, "%g is outside 0 to %d seconds", v, maxHandleSeconds)
	}
	return v, nil
}

// metadata reads an object of string values; null values are skipped, an
// empty object gives nil.
func (d *decoder) metadata() (map[string]string, error) {
	if d.null() {
		return nil, nil
	}
	if d.pos >= d.end || d.buf[d.pos] != '{' {
		return nil, d.wrongType("an object of strings")
	}
	d.pos++
	var m map[string]string
	var nulls map[string]bool
	n := 0
	for first := true; ; first = false {
		kb, more, err := d.nextKey(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return m, nil
		}
		k := string(bytes.TrimSpace(kb))
		if k == "" {
			return nil, d.bad(CodeInvalidValue, "metadata keys must not be blank")
		}
		if len(k) > maxMetadataKeyChars && utf8.RuneCountInString(k) > maxMetadataKeyChars {
			return nil, d.bad(CodeTooLong, "metadata key %s is longer than %d characters", quote(k), maxMetadataKeyChars)
		}
		if _, dup := m[k]; dup || nulls[k] {
			return nil, d.bad(CodeDuplicateField, "metadata key %s appears more than once", quote(k))
		}
		if n++; n > maxMetadataKeys {
			return nil, d.bad(CodeTooLong, "more than %d metadata keys", maxMetadataKeys)
		}
		if d.null() {
			if nulls == nil {
				nulls = make(map[string]bool)
			}
			nulls[k] = true
			continue
		}
		if d.pos >= d.end || d.buf[d.pos] != '"' {
			if got, ok := d.kind(); ok {
				return nil, d.bad(CodeWrongType, "metadata %s: want a string, got %s", quote(k), got)
			}
			return nil, d.syntax("a string")
		}
		vb, err := d.readString(&d.valScratch)
		if err != nil {
			return nil, err
		}
		vb = bytes.TrimSpace(vb)
		if len(vb) > maxMetadataValueChars && utf8.RuneCount(vb) > maxMetadataValueChars {
			return nil, d.bad(CodeTooLong, "metadata %s is longer than %d characters", quote(k), maxMetadataValueChars)
		}
		if m == nil {
			m = make(map[string]string)
		}
		m[k] = string(vb)
	}
}

// unknownField reports key, suggesting the known name it is closest to.
func (d *decoder) unknownField(key []byte, known []string) error {
	d.field = truncate(string(key), maxMetadataKeyChars)
	if s := suggest(string(key), known); s != "" {
		return d.bad(CodeUnknownField, "unknown field %s; did you mean %q?", quote(string(key)), s)
	}
	return d.bad(CodeUnknownField, "unknown field %s; known fields are %s", quote(string(key)), strings.Join(known, ", "))
}

// suggest returns the known name within two edits of key (ignoring case),
// or "".
func suggest(key string, known []string) string {
	if len(key) > 40 {
		return ""
	}
	key = strings.ToLower(key)
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(key, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance between a and b in bytes.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// order field numbers, bits of the seen mask.
const (
	oOrderID = iota
	oPlacedAt
	oCustomerID
	oProducts
	oChannel
	oAmount
	oCurrency
	oSource
)

func orderField(key []byte) (int, string) {
	switch string(key) {
	case "order_id":
		return oOrderID, "order_id"
	case "placed_at":
		return oPlacedAt, "placed_at"
	case "customer_id":
		return oCustomerID, "customer_id"
	case "products":
		return oProducts, "products"
	case "channel":
		return oChannel, "channel"
	case "amount":
		return oAmount, "amount"
	case "currency":
		return oCurrency, "currency"
	case "source":
		return oSource, "source"
	}
	return -1, ""
}

func orderFieldNames() []string {
	return []string{"order_id", "placed_at", "customer_id", "products", "channel", "amount", "currency", "source"}
}

// order decodes one order object at d.pos.
func (d *decoder) order() (*pb.Order, error) {
	if err := d.beginItem(); err != nil {
		return nil, err
	}
	o := &pb.Order{}
	err := d.fields(orderField, orderFieldNames, func(f int) (err error) {
		switch f {
		case oOrderID:
			o.OrderId, err = d.text(maxIDChars)
		case oPlacedAt:
			o.PlacedAt, err = d.timestamp()
		case oCustomerID:
			o.CustomerId, err = d.text(maxIDChars)
		case oProducts:
			o.Products, err = d.products()
		case oChannel:
			o.Channel, err = d.text(maxOrderChannelChars)
		case oAmount:
			o.Amount, err = d.amount()
		case oCurrency:
			o.Currency, err = d.currency()
		case oSource:
			o.Source, err = d.source()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if o.OrderId == "" {
		d.field = "order_id"
		return nil, d.bad(CodeMissingField, "order_id is required and must not be blank")
	}
	d.field = ""
	if o.Source == "" {
		o.Source = defaultSource
	}
	if o.PlacedAt == nil {
		o.PlacedAt = timestamppb.New(d.now)
	}
	return o, nil
}

// products reads an array of non-blank strings, or null.
func (d *decoder) products() ([]string, error) {
	if d.null() {
		return nil, nil
	}
	if d.pos >= d.end || d.buf[d.pos] != '[' {
		return nil, d.wrongType("an array of strings")
	}
	d.pos++
	var out []string
	for i := 0; ; i++ {
		d.skipWS()
		if d.pos < d.end && d.buf[d.pos] == ']' && i == 0 {
			d.pos++
			return out, nil
		}
		if i > 0 {
			if d.pos < d.end && d.buf[d.pos] == ']' {
				d.pos++
				return out, nil
			}
			if d.pos >= d.end || d.buf[d.pos] != ',' {
				return nil, d.syntax("',' or ']'")
			}
			d.pos++
			d.skipWS()
		}
		if i >= maxProducts {
			return nil, d.bad(CodeTooLong, "more than %d products", maxProducts)
		}
		if d.pos >= d.end || d.buf[d.pos] != '"' {
			if got, ok := d.kind(); ok {
				return nil, d.bad(CodeWrongType, "products[%d]: want a string, got %s", i, got)
			}
			return nil, d.syntax("a string")
		}
		s, err := d.text(maxIDChars)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, d.bad(CodeInvalidValue, "products[%d] is blank", i)
		}
		out = append(out, s)
	}
}

func (d *decoder) amount() (float64, error) {
	v, present, err := d.number()
	if err != nil || !present {
		return 0, err
	}
	if v < 0 {
		return 0, d.bad(CodeInvalidValue, "%g is negative", v)
	}
	return v, nil
}

// currency reads an ISO 4217 code: three letters, uppercased.
func (d *decoder) currency() (string, error) {
	s, err := d.text(maxIDChars)
	if err != nil || s == "" {
		return s, err
	}
	if len(s) != 3 || !isAlpha(s) {
		return "", d.bad(CodeInvalidValue, "%s is not an ISO 4217 currency code like EUR or USD", quote(s))
	}
	return strings.ToUpper(s), nil
}

// quote quotes a client value for a message, shortened to maxEcho runes.
func quote(s string) string {
	return strconv.Quote(truncate(s, maxEcho))
}

// truncate cuts s to at most n runes, marking a cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i, runes := 0, 0
	for i < len(s) && runes < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		runes++
	}
	if i == len(s) {
		return s
	}
	return s[:i] + "..."
}
