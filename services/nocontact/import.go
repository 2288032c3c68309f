package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"go.yaml.in/yaml/v3"

	"github.com/nocontact/nocontact/pkg/textproc"
	"github.com/nocontact/nocontact/services/ingest"
)

// importOptions is everything `nocontact import` is told.
type importOptions struct {
	kind         string // contacts, orders or articles
	path         string
	preset       string
	maps         string
	mappingFile  string
	source       string
	rejects      string
	allowRejects bool
	batch        int
	parallel     int
	checkpoint   string
	restart      bool
	timezone     string
	timeFormat   string
	format       string
	delimiter    string
	dryRun       bool
	wait         bool
	keepEmails   bool
	progress     string
}

func (o *importOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.preset, "preset", "", "column mapping of a helpdesk export: `zendesk` or freshdesk")
	fs.StringVar(&o.maps, "map", "", "column mapping `api_field=Column,...` (metadata.KEY=Column for metadata); overrides preset and mapping file")
	fs.StringVar(&o.mappingFile, "mapping", "", "mapping `file` (YAML or JSON: source, timezone, time_format, fields, metadata, channels, reasons)")
	fs.StringVar(&o.source, "source", "", "`source` of every row (with the id, the dedup key); default: the preset's name or \"import\"")
	fs.StringVar(&o.rejects, "rejects", "", "write rejected rows with their reasons to `file` (default FILE.rejects.jsonl)")
	fs.BoolVar(&o.allowRejects, "allow-rejects", false, "exit 0 even when rows were rejected")
	fs.IntVar(&o.batch, "batch", 1000, "`rows` per request")
	fs.IntVar(&o.parallel, "parallel", 4, "`requests` in flight")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "resume state `file` (default FILE.nocontact-import.json)")
	fs.BoolVar(&o.restart, "restart", false, "ignore the checkpoint and start from the first row")
	fs.StringVar(&o.timezone, "timezone", "", "time `zone` of timestamps without an offset, like Europe/Berlin (default UTC)")
	fs.StringVar(&o.timeFormat, "time-format", "", "Go time `layout` tried first, for formats such as 02/01/2006 15:04")
	fs.StringVar(&o.format, "format", "auto", "input `format`: auto (from the extension), csv, jsonl or json")
	fs.StringVar(&o.delimiter, "delimiter", "", "CSV field `delimiter` (default: guessed from the header: , ; or tab)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "read and check every row, write the rejects, send nothing")
	fs.BoolVar(&o.wait, "wait", false, "after sending, wait until the pipeline has processed everything")
	fs.BoolVar(&o.keepEmails, "keep-emails", false, "send e-mail addresses used as customer ids as they are (default: hashed)")
	fs.StringVar(&o.progress, "progress", "auto", "progress `display`: auto (a bar on a terminal), bar, lines or none")
}

const importUsage = `Usage: nocontact import contacts|orders FILE [flags]
       nocontact import articles DIR|FILE [flags]

Reads CSV, JSONL or JSON exports row by row and sends them to a running server in
batches. A CSV whose header names the API fields (docs/api.md) needs no mapping;
helpdesk exports use --preset zendesk|freshdesk, --map or --mapping. Rows that cannot
be sent are written with their reasons to the rejects file; an interrupted import
resumes where it stopped. See docs/import.md.

Flags:`

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opts importOptions
	var cf clientFlags
	fs := newFlagSet("import", stderr)
	opts.register(fs)
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, importUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("import: want a kind (contacts, orders or articles) and a file: %w", errUsage)
	}
	opts.kind, opts.path = pos[0], pos[1]
	if opts.batch < 1 || opts.batch > 10000 {
		return fmt.Errorf("import: --batch must be 1 to 10000, got %d", opts.batch)
	}
	if opts.parallel < 1 || opts.parallel > 32 {
		return fmt.Errorf("import: --parallel must be 1 to 32, got %d", opts.parallel)
	}
	switch opts.progress {
	case "auto", "bar", "lines", "none":
	default:
		return fmt.Errorf("import: --progress must be auto, bar, lines or none, got %q", opts.progress)
	}
	client := newClient(cf)
	switch opts.kind {
	case "contacts", "orders":
		return importRows(ctx, client, opts, stdout, stderr)
	case "articles":
		return importArticles(ctx, client, opts, stdout, stderr)
	}
	return fmt.Errorf("import: unknown kind %q; want contacts, orders or articles: %w", opts.kind, errUsage)
}

// parseInterspersed parses flags that may come before, between and after
// the positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	return pos, parse(fs, nil)
}

// ---------------------------------------------------------------------------
// Mapping

// columns are candidate column names for one field: the first one present
// and not blank in a row gives the value. A mapping file may give one name
// or a list.
type columns []string

// UnmarshalYAML accepts a string or a list of strings.
func (c *columns) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*c = columns{n.Value}
		return nil
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		*c = list
		return nil
	}
	return fmt.Errorf("line %d: want a column name or a list of them", n.Line)
}

// fieldMap says how the columns of an export become API fields.
type fieldMap struct {
	// Source is the source of every row unless a column gives it.
	Source string `yaml:"source"`
	// Timezone is the zone of timestamps without an offset.
	Timezone string `yaml:"timezone"`
	// TimeFormat is a Go layout tried before the built-in ones.
	TimeFormat string `yaml:"time_format"`
	// Fields maps API fields to columns.
	Fields map[string]columns `yaml:"fields"`
	// Metadata maps metadata keys to columns.
	Metadata map[string]columns `yaml:"metadata"`
	// Channels maps the export's channel values (any case) to API channels.
	Channels map[string]string `yaml:"channels"`
	// Reasons maps the export's reason values (any case) to taxonomy codes;
	// only mapped values are sent as the contact's reason.
	Reasons map[string]string `yaml:"reasons"`
}

func contactFields() []string {
	return []string{"external_id", "source", "channel", "received_at", "customer_id", "order_id", "product",
		"locale", "subject", "text", "reason", "handle_seconds"}
}

func orderFields() []string {
	return []string{"order_id", "placed_at", "customer_id", "products", "channel", "amount", "currency", "source"}
}

// identityMap maps every API field to the column of the same name.
func identityMap(fields []string) *fieldMap {
	m := &fieldMap{Fields: map[string]columns{}}
	for _, f := range fields {
		m.Fields[f] = columns{f}
	}
	return m
}

// presetMap returns the mapping of a helpdesk export. Column names are
// those of the documented exports (CSV and JSON); matching ignores case,
// punctuation and a trailing "[type]" of custom fields.
func presetMap(name, kind string) (*fieldMap, error) {
	if kind != "contacts" {
		return nil, fmt.Errorf("preset %q is for contacts (ticket exports), not %s", name, kind)
	}
	switch name {
	case "zendesk":
		return &fieldMap{
			Source: "zendesk",
			Fields: map[string]columns{
				"external_id":    {"Id", "Ticket id"},
				"subject":        {"Subject", "raw_subject"},
				"text":           {"Description", "description"},
				"channel":        {"Via", "via.channel"},
				"received_at":    {"Created at", "created_at"},
				"customer_id":    {"Requester id", "requester_id", "Requester external id", "Requester email"},
				"order_id":       {"Order number", "Order ID", "Order", "Order no"},
				"product":        {"Product"},
				"locale":         {"Requester language", "Locale", "Language"},
				"reason":         {"Contact reason", "Reason"},
				"handle_seconds": {"Handle time in seconds", "Handle time"},
			},
			Metadata: map[string]columns{
				"tags": {"Tags"}, "status": {"Status"}, "priority": {"Priority"}, "ticket_type": {"Ticket type", "type"},
				"group": {"Group", "group_id"}, "satisfaction": {"Satisfaction Score", "satisfaction_rating.score"},
				"organization": {"Organization", "organization_id"},
			},
			Channels: map[string]string{
				"web form": "web", "web widget": "web", "help center": "web", "help_center": "web", "web service": "other",
				"api": "other", "closed ticket": "other", "voice": "phone", "voicemail": "phone",
				"phone call (incoming)": "phone", "phone call (outgoing)": "phone", "mobile sdk": "chat", "mobile_sdk": "chat",
				"native_messaging": "chat", "messaging": "chat", "any_channel": "other",
			},
		}, nil
	case "freshdesk":
		return &fieldMap{
			Source: "freshdesk",
			Fields: map[string]columns{
				"external_id":    {"Ticket ID", "id"},
				"subject":        {"Subject"},
				"text":           {"Description", "description_text", "description"},
				"channel":        {"Source"},
				"received_at":    {"Created time", "created_at"},
				"customer_id":    {"Contact ID", "requester_id", "Email"},
				"order_id":       {"Order ID", "Order number", "cf_order_id", "custom_fields.cf_order_id"},
				"product":        {"Product", "product_id"},
				"reason":         {"Contact reason", "Type", "type"},
				"handle_seconds": {"Time tracked"},
			},
			Metadata: map[string]columns{
				"tags": {"Tags"}, "status": {"Status"}, "priority": {"Priority"}, "group": {"Group", "group_id"},
				"agent": {"Agent", "responder_id"}, "resolution_status": {"Resolution status"}, "survey": {"Survey results"},
			},
			Channels: map[string]string{
				"portal": "web", "feedback widget": "web", "outbound email": "email", "mobihelp": "chat", "forum": "web",
				"ecommerce": "other", "bot": "chat",
				// Source as numbers in the Freshdesk API.
				"1": "email", "2": "web", "3": "phone", "5": "social", "6": "social", "7": "chat", "8": "chat",
				"9": "web", "10": "email",
			},
		}, nil
	}
	return nil, fmt.Errorf("unknown preset %q; have zendesk and freshdesk", name)
}

// merge lays over on top of m.
func (m *fieldMap) merge(over *fieldMap) {
	if over.Source != "" {
		m.Source = over.Source
	}
	if over.Timezone != "" {
		m.Timezone = over.Timezone
	}
	if over.TimeFormat != "" {
		m.TimeFormat = over.TimeFormat
	}
	if m.Fields == nil {
		m.Fields = map[string]columns{}
	}
	maps.Copy(m.Fields, over.Fields)
	if len(over.Metadata) > 0 && m.Metadata == nil {
		m.Metadata = map[string]columns{}
	}
	maps.Copy(m.Metadata, over.Metadata)
	if len(over.Channels) > 0 && m.Channels == nil {
		m.Channels = map[string]string{}
	}
	maps.Copy(m.Channels, over.Channels)
	if len(over.Reasons) > 0 && m.Reasons == nil {
		m.Reasons = map[string]string{}
	}
	maps.Copy(m.Reasons, over.Reasons)
}

// parseMapFlag reads --map: api_field=Column,metadata.key=Column.
func parseMapFlag(s string) (*fieldMap, error) {
	m := &fieldMap{Fields: map[string]columns{}, Metadata: map[string]columns{}}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		field, col, ok := strings.Cut(pair, "=")
		field, col = strings.TrimSpace(field), strings.TrimSpace(col)
		if !ok || field == "" || col == "" {
			return nil, fmt.Errorf("--map: %q is not api_field=Column", pair)
		}
		if key, ok := strings.CutPrefix(field, "metadata."); ok {
			m.Metadata[key] = columns{col}
			continue
		}
		m.Fields[field] = columns{col}
	}
	return m, nil
}

// loadMappingFile reads a YAML (or JSON) mapping file; unknown keys are
// errors, so a typo does not silently lose a column.
func loadMappingFile(path string) (*fieldMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m fieldMap
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("mapping file %s: %w", path, err)
	}
	return &m, nil
}

// buildMapping assembles the mapping of an import: the preset (or the API
// field names), the mapping file, then --map.
func buildMapping(opts importOptions) (*fieldMap, error) {
	known := contactFields()
	if opts.kind == "orders" {
		known = orderFields()
	}
	var m *fieldMap
	if opts.preset != "" {
		p, err := presetMap(opts.preset, opts.kind)
		if err != nil {
			return nil, err
		}
		m = p
	} else {
		m = identityMap(known)
	}
	if opts.mappingFile != "" {
		f, err := loadMappingFile(opts.mappingFile)
		if err != nil {
			return nil, err
		}
		m.merge(f)
	}
	if opts.maps != "" {
		f, err := parseMapFlag(opts.maps)
		if err != nil {
			return nil, err
		}
		m.merge(f)
	}
	for _, f := range slices.Sorted(maps.Keys(m.Fields)) {
		if !slices.Contains(known, f) {
			hint := ""
			if f == "metadata" {
				hint = "; map metadata keys as metadata.KEY"
			}
			return nil, fmt.Errorf("mapping names %q, which is not a field of %s (have %s)%s", f, opts.kind, strings.Join(known, ", "), hint)
		}
	}
	for _, ch := range slices.Sorted(maps.Keys(m.Channels)) {
		if !isAPIChannel(m.Channels[ch]) {
			return nil, fmt.Errorf("mapping: channel %q maps to %q, which is not phone, email, chat, social, web, self_service or other", ch, m.Channels[ch])
		}
	}
	for _, v := range slices.Sorted(maps.Keys(m.Reasons)) {
		if !isReasonCode(m.Reasons[v]) {
			return nil, fmt.Errorf("mapping: reason %q maps to %q, which is not a reason code (lower-case letters, digits, '_')", v, m.Reasons[v])
		}
	}
	if opts.source != "" {
		m.Source = opts.source
		delete(m.Fields, "source") // the flag wins over a source column
	}
	if m.Source == "" {
		m.Source = "import"
	}
	if opts.timezone != "" {
		m.Timezone = opts.timezone
	}
	if opts.timeFormat != "" {
		m.TimeFormat = opts.timeFormat
	}
	return m, nil
}

// normColumn is the form column names are matched in: lower case, letters
// and digits only, without a trailing "[type]" (Zendesk custom fields).
func normColumn(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '['); i > 0 && strings.HasSuffix(s, "]") {
		s = s[:i]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Rows

// row is one record of the input.
type row struct {
	line   int   // first line of the row (CSV, JSONL) or its 1-based ordinal (JSON)
	last   int   // last line of the row
	end    int64 // byte offset just after the row
	names  []string
	index  map[string]int // normalised name -> position in vals
	vals   []string
	hashOf string // the row's content, for ids of rows without one
	err    error  // the row could not be read
}

// get returns the first non-blank value of cols.
func (r *row) get(cols columns) string {
	for _, c := range cols {
		if i, ok := r.index[normColumn(c)]; ok && i < len(r.vals) {
			if v := strings.TrimSpace(r.vals[i]); v != "" {
				return v
			}
		}
	}
	return ""
}

// fields returns the row as column -> value, for the rejects file.
func (r *row) fields() map[string]string {
	out := make(map[string]string, len(r.names))
	for i, n := range r.names {
		if i < len(r.vals) && r.vals[i] != "" {
			out[n] = r.vals[i]
		}
	}
	return out
}

// rowSource reads rows from a file.
type rowSource interface {
	// next returns the next row; io.EOF at the end. A row that cannot be
	// parsed comes back with err set, and reading goes on.
	next() (*row, error)
	// header is the CSV header, nil for JSON.
	header() []string
	close() error
}

// openRows opens path for reading from a checkpoint.
func openRows(path, format, delimiter string, from checkpoint) (rowSource, string, error) {
	if format == "auto" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv", ".tsv", ".txt":
			format = "csv"
		case ".jsonl", ".ndjson":
			format = "jsonl"
		case ".json":
			f, err := sniffJSON(path)
			if err != nil {
				return nil, "", err
			}
			format = f
		default:
			return nil, "", fmt.Errorf("cannot tell the format of %s from its extension; pass --format csv, jsonl or json", path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	var src rowSource
	switch format {
	case "csv":
		if delimiter == "" && strings.EqualFold(filepath.Ext(path), ".tsv") {
			delimiter = "\t"
		}
		src, err = newCSVRows(f, delimiter, from)
	case "jsonl":
		src, err = newJSONLRows(f, from)
	case "json":
		src, err = newJSONRows(f, from)
	default:
		err = fmt.Errorf("unknown --format %q; want auto, csv, jsonl or json", format)
	}
	if err != nil {
		f.Close()
		return nil, "", err
	}
	return src, format, nil
}

// sniffJSON tells a JSON document (an array, or an object holding one, as
// API exports are) from JSON Lines in a .json file.
func sniffJSON(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for {
		b, err := br.ReadByte()
		if err != nil {
			return "", fmt.Errorf("%s holds no JSON", path)
		}
		if b == '[' {
			return "json", nil
		}
		if b == '{' {
			break
		}
		if !unicode.IsSpace(rune(b)) && b != 0xef && b != 0xbb && b != 0xbf {
			return "", fmt.Errorf("%s does not start with a JSON object or array", path)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	dec := json.NewDecoder(bufio.NewReader(f))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return "jsonl", nil // let the JSONL reader report the line
	}
	if dec.More() {
		return "jsonl", nil
	}
	return "json", nil
}

// csvRows reads CSV with a header row.
type csvRows struct {
	f        *os.File
	r        *csv.Reader
	head     []string
	index    map[string]int
	base     int64
	baseLine int
	ordinal  int
}

func newCSVRows(f *os.File, delimiter string, from checkpoint) (*csvRows, error) {
	br := bufio.NewReaderSize(f, 1<<20)
	first, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	comma := ','
	if delimiter != "" {
		r, size := utf8.DecodeRuneInString(delimiter)
		if size != len(delimiter) || r == '"' || r == '\n' {
			return nil, fmt.Errorf("--delimiter must be one character, got %q", delimiter)
		}
		comma = r
	} else {
		line, _, _ := bytes.Cut(first, []byte("\n"))
		best := 0
		for _, d := range []rune{',', ';', '\t', '|'} {
			if n := bytes.Count(line, []byte(string(d))); n > best {
				best, comma = n, d
			}
		}
	}
	c := &csvRows{f: f}
	c.r = newCSVReader(br, comma)
	head, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: want a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	c.head = slices.Clone(head)
	if len(c.head) > 0 {
		c.head[0] = strings.TrimPrefix(c.head[0], "\ufeff")
	}
	c.index = map[string]int{}
	for i, h := range c.head {
		if !utf8.ValidString(h) {
			return nil, errors.New("the header is not UTF-8; save the file as UTF-8 (for example: iconv -f WINDOWS-1252 -t UTF-8)")
		}
		if _, dup := c.index[normColumn(h)]; !dup {
			c.index[normColumn(h)] = i
		}
	}
	c.baseLine = 1
	if from.Offset > c.r.InputOffset() {
		if _, err := f.Seek(from.Offset, io.SeekStart); err != nil {
			return nil, err
		}
		c.r = newCSVReader(bufio.NewReaderSize(f, 1<<20), comma)
		c.base, c.baseLine, c.ordinal = from.Offset, from.Line+1, from.Records
	}
	return c, nil
}

func newCSVReader(r io.Reader, comma rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

func (c *csvRows) header() []string { return c.head }
func (c *csvRows) close() error     { return c.f.Close() }

func (c *csvRows) next() (*row, error) {
	for {
		rec, err := c.r.Read()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		line := 0
		if err == nil {
			l, _ := c.r.FieldPos(0)
			line = c.baseLine + l - 1
		}
		r := &row{names: c.head, index: c.index, end: c.base + c.r.InputOffset()}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				r.line = c.baseLine + pe.StartLine - 1
				r.last = c.baseLine + pe.Line - 1
				r.err = fmt.Errorf("CSV: %v", pe.Err)
				return r, nil
			}
			return nil, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		c.ordinal++
		r.line = line
		lastLine, _ := c.r.FieldPos(len(rec) - 1)
		r.last = c.baseLine + lastLine - 1 + strings.Count(rec[len(rec)-1], "\n")
		r.vals = slices.Clone(rec)
		r.hashOf = strings.Join(rec, "\x1f")
		if len(rec) > len(c.head) {
			r.err = fmt.Errorf("%d fields, the header has %d", len(rec), len(c.head))
		} else if !utf8.ValidString(r.hashOf) {
			r.err = errors.New("not UTF-8; save the file as UTF-8 (for example: iconv -f WINDOWS-1252 -t UTF-8)")
		}
		return r, nil
	}
}

// jsonlRows reads one JSON object a line.
type jsonlRows struct {
	f    *os.File
	br   *bufio.Reader
	off  int64
	line int
}

func newJSONLRows(f *os.File, from checkpoint) (*jsonlRows, error) {
	j := &jsonlRows{f: f}
	if from.Offset > 0 {
		if _, err := f.Seek(from.Offset, io.SeekStart); err != nil {
			return nil, err
		}
		j.off, j.line = from.Offset, from.Line
	}
	j.br = bufio.NewReaderSize(f, 1<<20)
	return j, nil
}

func (j *jsonlRows) header() []string { return nil }
func (j *jsonlRows) close() error     { return j.f.Close() }

// maxLine is the longest JSON line read.
const maxLine = 64 << 20

func (j *jsonlRows) next() (*row, error) {
	for {
		line, err := j.br.ReadSlice('\n')
		var buf []byte
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf, line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(buf) <= maxLine {
				line, err = j.br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, fmt.Errorf("line %d is longer than %d bytes", j.line+1, maxLine)
			}
			return nil, err
		}
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		j.off += int64(len(line))
		j.line++
		text := bytes.TrimSpace(line)
		if j.line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			continue
		}
		r := jsonRow(text)
		r.line, r.last, r.end = j.line, j.line, j.off
		return r, nil
	}
}

// jsonRow flattens one JSON object into a row: nested objects become
// "a.b", arrays of values are joined with commas, and arrays of
// {"id","value"} objects (custom fields) become "name.<id>".
func jsonRow(data []byte) *row {
	r := &row{hashOf: string(data), index: map[string]int{}}
	if !utf8.Valid(data) {
		r.err = errors.New("not UTF-8")
		return r
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		r.err = fmt.Errorf("not a JSON object: %v", err)
		return r
	}
	if obj == nil {
		r.err = errors.New("not a JSON object: null")
		return r
	}
	var add func(prefix string, v any)
	add = func(prefix string, v any) {
		switch x := v.(type) {
		case nil:
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				add(joinKey(prefix, k), x[k])
			}
		case []any:
			var scalars []string
			for i, e := range x {
				if m, ok := e.(map[string]any); ok {
					if id, ok := m["id"]; ok {
						if val, ok := m["value"]; ok {
							add(joinKey(prefix, fmt.Sprint(id)), val)
							continue
						}
					}
					add(joinKey(prefix, strconv.Itoa(i)), m)
					continue
				}
				if s := scalar(e); s != "" {
					scalars = append(scalars, s)
				}
			}
			if len(scalars) > 0 {
				r.set(prefix, strings.Join(scalars, ","))
			}
		default:
			r.set(prefix, scalar(x))
		}
	}
	add("", obj)
	return r
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (r *row) set(name, v string) {
	r.names = append(r.names, name)
	r.vals = append(r.vals, v)
	if _, dup := r.index[normColumn(name)]; !dup {
		r.index[normColumn(name)] = len(r.vals) - 1
	}
}

// jsonRows reads a JSON document: an array of objects, or an object with
// one array of objects (such as Zendesk's {"tickets": [...]}).
type jsonRows struct {
	f       *os.File
	dec     *json.Decoder
	ordinal int
	done    bool
}

func newJSONRows(f *os.File, from checkpoint) (*jsonRows, error) {
	j := &jsonRows{f: f, dec: json.NewDecoder(bufio.NewReaderSize(f, 1<<20))}
	tok, err := j.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	switch tok {
	case json.Delim('['):
	case json.Delim('{'):
		found := false
		for !found && j.dec.More() {
			if _, err := j.dec.Token(); err != nil { // the key
				return nil, fmt.Errorf("not JSON: %w", err)
			}
			d, err := peekDelim(j.dec)
			if err != nil {
				return nil, err
			}
			found = d == '['
		}
		if !found {
			return nil, errors.New("the JSON object holds no array of records (want an array, or an object such as {\"tickets\": [...]})")
		}
	default:
		return nil, errors.New("want a JSON array of objects, or an object holding one")
	}
	for range from.Records {
		if _, err := j.next(); err != nil {
			return nil, fmt.Errorf("skip to record %d of the checkpoint: %w", from.Records, err)
		}
	}
	return j, nil
}

// peekDelim reads the next value's first token when it opens an array;
// any other value is skipped whole. It returns '[' when an array opened.
func peekDelim(dec *json.Decoder) (json.Delim, error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, fmt.Errorf("not JSON: %w", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return 0, nil
	}
	if d == '[' {
		return d, nil
	}
	depth := 1
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return 0, fmt.Errorf("not JSON: %w", err)
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return 0, nil
}

func (j *jsonRows) header() []string { return nil }
func (j *jsonRows) close() error     { return j.f.Close() }

func (j *jsonRows) next() (*row, error) {
	if j.done || !j.dec.More() {
		j.done = true
		return nil, io.EOF
	}
	var raw json.RawMessage
	if err := j.dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("record %d: %w", j.ordinal+1, err)
	}
	j.ordinal++
	r := jsonRow(raw)
	r.line, r.last, r.end = j.ordinal, j.ordinal, j.dec.InputOffset()
	return r, nil
}

// ---------------------------------------------------------------------------
// Converting rows

// contactItem is a contact as POST /v1/contacts takes it.
type contactItem struct {
	ExternalID    string            `json:"external_id"`
	Source        string            `json:"source"`
	Channel       string            `json:"channel,omitempty"`
	ReceivedAt    string            `json:"received_at,omitempty"`
	CustomerID    string            `json:"customer_id,omitempty"`
	OrderID       string            `json:"order_id,omitempty"`
	Product       string            `json:"product,omitempty"`
	Locale        string            `json:"locale,omitempty"`
	Subject       string            `json:"subject,omitempty"`
	Text          string            `json:"text,omitempty"`
	Reason        string            `json:"reason,omitempty"`
	HandleSeconds *float64          `json:"handle_seconds,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// orderItem is an order as POST /v1/orders takes it.
type orderItem struct {
	OrderID    string   `json:"order_id"`
	PlacedAt   string   `json:"placed_at,omitempty"`
	CustomerID string   `json:"customer_id,omitempty"`
	Products   []string `json:"products,omitempty"`
	Channel    string   `json:"channel,omitempty"`
	Amount     *float64 `json:"amount,omitempty"`
	Currency   string   `json:"currency,omitempty"`
	Source     string   `json:"source"`
}

// fieldError is a row that cannot become an item.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

func badField(field, format string, args ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

// converter turns rows into API items.
type converter struct {
	kind       string
	m          *fieldMap
	loc        *time.Location
	now        func() time.Time
	fileName   string
	keepEmails bool
	channels   map[string]string
	reasons    map[string]string
	mdPrefix   bool // columns named metadata.KEY are metadata
}

func newConverter(opts importOptions, m *fieldMap, now func() time.Time) (*converter, error) {
	loc := time.UTC
	if m.Timezone != "" {
		l, err := time.LoadLocation(m.Timezone)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", m.Timezone, err)
		}
		loc = l
	}
	c := &converter{kind: opts.kind, m: m, loc: loc, now: now, fileName: filepath.Base(opts.path), keepEmails: opts.keepEmails,
		channels: map[string]string{}, reasons: map[string]string{}, mdPrefix: true}
	for k, v := range m.Channels {
		c.channels[strings.ToLower(strings.TrimSpace(k))] = v
	}
	for k, v := range m.Reasons {
		c.reasons[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return c, nil
}

// checkHeader makes sure a CSV header has the columns an import needs.
func (c *converter) checkHeader(head []string) (unused []string, err error) {
	index := map[string]bool{}
	for _, h := range head {
		index[normColumn(h)] = true
	}
	has := func(field string) bool {
		for _, col := range c.m.Fields[field] {
			if index[normColumn(col)] {
				return true
			}
		}
		return false
	}
	if c.kind == "contacts" && !has("text") && !has("subject") {
		return nil, fmt.Errorf("no column gives the text or subject (looked for %s); map one, e.g. --map text=Description (columns: %s)",
			strings.Join(append(slices.Clone(c.m.Fields["text"]), c.m.Fields["subject"]...), ", "), strings.Join(head, ", "))
	}
	if c.kind == "orders" && !has("order_id") {
		return nil, fmt.Errorf("no column gives the order id (looked for %s); map one, e.g. --map order_id=Number (columns: %s)",
			strings.Join(c.m.Fields["order_id"], ", "), strings.Join(head, ", "))
	}
	used := map[string]bool{}
	for _, cols := range c.m.Fields {
		for _, col := range cols {
			used[normColumn(col)] = true
		}
	}
	for _, cols := range c.m.Metadata {
		for _, col := range cols {
			used[normColumn(col)] = true
		}
	}
	for _, h := range head {
		if !used[normColumn(h)] && !(c.mdPrefix && strings.HasPrefix(strings.ToLower(h), "metadata.")) {
			unused = append(unused, h)
		}
	}
	return unused, nil
}

// convert turns a row into a contactItem or orderItem, validated by the
// same decoder the server uses.
func (c *converter) convert(r *row) (any, error) {
	if r.err != nil {
		return nil, &fieldError{msg: r.err.Error()}
	}
	var item any
	var err error
	if c.kind == "orders" {
		item, err = c.order(r)
	} else {
		item, err = c.contact(r)
	}
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	if c.kind == "orders" {
		_, err = ingest.DecodeOrders("application/json", bytes.NewReader(data), ingest.Limits{}, c.now)
	} else {
		_, err = ingest.DecodeContacts("application/json", bytes.NewReader(data), ingest.Limits{}, c.now)
	}
	var ie *ingest.InputError
	if errors.As(err, &ie) {
		return nil, &fieldError{field: ie.Field, msg: ie.Message}
	}
	if err != nil {
		return nil, err
	}
	return item, nil
}

func (c *converter) contact(r *row) (*contactItem, error) {
	f := c.m.Fields
	it := &contactItem{
		ExternalID: r.get(f["external_id"]),
		Source:     strings.ToLower(r.get(f["source"])),
		OrderID:    r.get(f["order_id"]),
		Product:    r.get(f["product"]),
		Subject:    oneLine(plainText(r.get(f["subject"]))),
		Text:       plainText(r.get(f["text"])),
	}
	if it.Source == "" {
		it.Source = c.m.Source
	}
	if it.ExternalID == "" {
		it.ExternalID = c.derivedID(r)
	}
	md := c.metadata(r)
	if v := r.get(f["channel"]); v != "" {
		ch, known := normChannel(v, c.channels)
		it.Channel = ch
		if !known {
			md = setMeta(md, "source_channel", v)
		}
	}
	if v := r.get(f["received_at"]); v != "" {
		t, err := c.parseTime(v)
		if err != nil {
			return nil, badField("received_at", "%v", err)
		}
		it.ReceivedAt = t
	}
	it.CustomerID = c.customerID(r.get(f["customer_id"]))
	if v := r.get(f["locale"]); v != "" {
		l, ok := normLocale(v)
		if !ok {
			return nil, badField("locale", "%q is not a language tag like en, en-GB or zh-CN", v)
		}
		it.Locale = l
	}
	if v := r.get(f["reason"]); v != "" {
		code, ok := c.reasons[strings.ToLower(v)]
		switch {
		case ok:
			it.Reason = code
		case len(c.reasons) == 0 && isReasonCode(v):
			it.Reason = v
		default:
			md = setMeta(md, "source_reason", v)
		}
	}
	if v := r.get(f["handle_seconds"]); v != "" {
		s, err := parseSeconds(v)
		if err != nil {
			return nil, badField("handle_seconds", "%v", err)
		}
		it.HandleSeconds = &s
	}
	if it.Text == "" && it.Subject == "" {
		return nil, badField("text", "the row has no text and no subject")
	}
	it.Metadata = md
	return it, nil
}

func (c *converter) order(r *row) (*orderItem, error) {
	f := c.m.Fields
	it := &orderItem{
		OrderID:  r.get(f["order_id"]),
		Source:   strings.ToLower(r.get(f["source"])),
		Channel:  r.get(f["channel"]),
		Currency: strings.ToUpper(r.get(f["currency"])),
	}
	if it.OrderID == "" {
		return nil, badField("order_id", "the row has no order id")
	}
	if it.Source == "" {
		it.Source = c.m.Source
	}
	if v := r.get(f["placed_at"]); v != "" {
		t, err := c.parseTime(v)
		if err != nil {
			return nil, badField("placed_at", "%v", err)
		}
		it.PlacedAt = t
	}
	it.CustomerID = c.customerID(r.get(f["customer_id"]))
	if v := r.get(f["products"]); v != "" {
		for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == '|' || r == ';' || r == ',' }) {
			if p = strings.TrimSpace(p); p != "" {
				it.Products = append(it.Products, p)
			}
		}
	}
	if v := r.get(f["amount"]); v != "" {
		a, cur, err := parseAmount(v)
		if err != nil {
			return nil, badField("amount", "%v", err)
		}
		it.Amount = &a
		if it.Currency == "" {
			it.Currency = cur
		}
	}
	return it, nil
}

// metadata collects the mapped metadata columns and metadata.KEY columns.
func (c *converter) metadata(r *row) map[string]string {
	var md map[string]string
	for _, k := range slices.Sorted(maps.Keys(c.m.Metadata)) {
		if v := r.get(c.m.Metadata[k]); v != "" {
			md = setMeta(md, k, v)
		}
	}
	if c.mdPrefix {
		for i, n := range r.names {
			if key, ok := cutPrefixFold(n, "metadata."); ok && key != "" && i < len(r.vals) {
				if v := strings.TrimSpace(r.vals[i]); v != "" {
					md = setMeta(md, key, v)
				}
			}
		}
	}
	return md
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func setMeta(md map[string]string, k, v string) map[string]string {
	if md == nil {
		md = map[string]string{}
	}
	md[k] = v
	return md
}

// derivedID is the external id of a row without one: a hash of the file's
// name and the row's content, so that importing the file again (or
// resuming) never duplicates a row.
func (c *converter) derivedID(r *row) string {
	sum := sha256.Sum256([]byte(c.fileName + "\x00" + r.hashOf))
	return "row-" + hex.EncodeToString(sum[:12])
}

// customerID returns the customer id to send: e-mail addresses are hashed
// unless --keep-emails, so that no address travels as an id.
func (c *converter) customerID(v string) string {
	if v == "" || c.keepEmails || !strings.Contains(v, "@") {
		return v
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(v))))
	return "email-" + hex.EncodeToString(sum[:10])
}

// timeLayouts are the layouts parseTime tries: with an offset first, then
// without (read in the import's time zone).
func timeLayouts() (withZone, local []string) {
	return []string{
			time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 -0700",
			"2006-01-02 15:04:05 -07:00", "2006-01-02 15:04 -0700", "2006-01-02 15:04:05.999999999 -0700",
			"2006-01-02T15:04:05.999999999 -0700", time.RFC1123Z, time.RFC1123, time.RFC850, "2006-01-02 15:04:05 MST",
		}, []string{
			"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04",
			"2006-01-02", "2006/01/02 15:04:05", "2006/01/02 15:04", "2006/01/02", "02 Jan 2006 15:04:05", "02 Jan 2006 15:04",
			"2 Jan 2006", "Jan 2, 2006 15:04:05", "Jan 2, 2006 3:04 PM", "Jan 2, 2006", "January 2, 2006",
			"Mon, 2 Jan, 2006 at 3:04 PM", "Mon, 2 Jan 2006 3:04 PM",
		}
}

// parseTime reads a timestamp liberally and returns it as RFC 3339 in UTC.
func (c *converter) parseTime(s string) (string, error) {
	t, err := c.parseTimeValue(s)
	if err != nil {
		return "", err
	}
	return t.UTC().Format(time.RFC3339Nano), nil
}

func (c *converter) parseTimeValue(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if c.m.TimeFormat != "" {
		if t, err := time.ParseInLocation(c.m.TimeFormat, s, c.loc); err == nil {
			return t, nil
		}
	}
	if isDigits(s) && (len(s) == 10 || len(s) == 13) {
		n, _ := strconv.ParseInt(s, 10, 64)
		if len(s) == 13 {
			return time.UnixMilli(n), nil
		}
		return time.Unix(n, 0), nil
	}
	withZone, local := timeLayouts()
	for _, l := range withZone {
		if t, err := time.Parse(l, s); err == nil {
			if strings.Contains(l, "MST") || l == time.RFC1123 || l == time.RFC850 {
				if name, off := t.Zone(); off == 0 && name != "UTC" && name != "GMT" && name != "Z" {
					return time.Time{}, fmt.Errorf("%q names a time zone (%s) whose offset is unknown; use an offset like +0100", s, name)
				}
			}
			return t, nil
		}
	}
	for _, l := range local {
		if t, err := time.ParseInLocation(l, s, c.loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time; use RFC 3339 (2024-03-05T14:22:10+01:00) or pass --time-format", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseSeconds reads a duration: seconds, hh:mm:ss, mm:ss or a Go
// duration (1h2m).
func parseSeconds(s string) (float64, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return v, nil
	}
	if parts := strings.Split(s, ":"); len(parts) == 2 || len(parts) == 3 {
		total := 0.0
		for _, p := range parts {
			n, err := strconv.ParseFloat(p, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("cannot read %q as a duration", s)
			}
			total = total*60 + n
		}
		return total, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d.Seconds(), nil
	}
	return 0, fmt.Errorf("cannot read %q as seconds or hh:mm:ss", s)
}

// parseAmount reads a money amount such as 1234.5, "1,234.50", "1.234,50",
// "£12.90" or "12.90 EUR"; it returns the currency a symbol or code names.
func parseAmount(s string) (float64, string, error) {
	cur := ""
	symbols := map[string]string{"£": "GBP", "€": "EUR", "$": "USD", "¥": "CNY", "￥": "CNY"}
	t := strings.TrimSpace(s)
	for sym, code := range symbols {
		if strings.Contains(t, sym) {
			cur = code
			t = strings.ReplaceAll(t, sym, "")
		}
	}
	if fields := strings.Fields(t); len(fields) == 2 {
		for i, f := range fields {
			if len(f) == 3 && isLetters(f) {
				cur = strings.ToUpper(f)
				t = fields[1-i]
			}
		}
	}
	t = strings.ReplaceAll(strings.TrimSpace(t), " ", "")
	comma, dot := strings.LastIndexByte(t, ','), strings.LastIndexByte(t, '.')
	switch {
	case comma >= 0 && dot >= 0 && comma > dot: // 1.234,50
		t = strings.ReplaceAll(t[:comma], ".", "") + "." + t[comma+1:]
	case comma >= 0 && dot >= 0: // 1,234.50
		t = strings.ReplaceAll(t, ",", "")
	case comma >= 0 && len(t)-comma-1 != 3: // 12,50
		t = t[:comma] + "." + t[comma+1:]
	case comma >= 0: // 1,234
		t = strings.ReplaceAll(t, ",", "")
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "", fmt.Errorf("cannot read %q as an amount", s)
	}
	return v, cur, nil
}

func isLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) || r >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isAPIChannel(s string) bool {
	switch s {
	case "phone", "email", "chat", "social", "web", "self_service", "other":
		return true
	}
	return false
}

func isReasonCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// normChannel maps a helpdesk's channel value to an API channel: the
// mapping's table first, then the API's own names, then words such as
// "call", "mail" or "twitter". known is false when it fell back to other.
func normChannel(v string, table map[string]string) (ch string, known bool) {
	l := strings.ToLower(strings.TrimSpace(v))
	if c, ok := table[l]; ok {
		return c, true
	}
	if isAPIChannel(l) {
		return l, true
	}
	rules := []struct {
		words []string
		ch    string
	}{
		{[]string{"phone", "voice", "call"}, "phone"},
		{[]string{"mail"}, "email"},
		{[]string{"chat", "messag", "messeng", "whatsapp", "sms", "wechat", "sdk"}, "chat"},
		{[]string{"twitter", "facebook", "instagram", "social", "weibo", "tiktok"}, "social"},
		{[]string{"web", "form", "portal", "widget", "help cent", "help_cent", "forum", "feedback", "site"}, "web"},
		{[]string{"self"}, "self_service"},
	}
	for _, r := range rules {
		for _, w := range r.words {
			if strings.Contains(l, w) {
				return r.ch, true
			}
		}
	}
	return "other", false
}

// normLocale reads a language tag or a language's name.
func normLocale(v string) (string, bool) {
	l := strings.ToLower(strings.TrimSpace(v))
	names := map[string]string{"english": "en", "chinese": "zh", "中文": "zh", "简体中文": "zh-CN", "繁體中文": "zh-TW",
		"chinese (simplified)": "zh-CN", "chinese (traditional)": "zh-TW", "german": "de", "french": "fr", "spanish": "es"}
	if n, ok := names[l]; ok {
		return n, true
	}
	parts := strings.Split(strings.ReplaceAll(l, "_", "-"), "-")
	if len(parts[0]) < 2 || len(parts[0]) > 3 || !isLetters(parts[0]) {
		return "", false
	}
	for _, p := range parts[1:] {
		if len(p) < 2 || len(p) > 8 {
			return "", false
		}
	}
	return strings.ReplaceAll(v, "_", "-"), true
}

// plainText turns HTML (as some exports hold descriptions) into text;
// other text is returned trimmed.
func plainText(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "<") || !looksLikeHTML(s) {
		return s
	}
	var b strings.Builder
	inTag := false
	var tag strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			tag.Reset()
		case r == '>' && inTag:
			inTag = false
			name := strings.ToLower(strings.Trim(strings.Fields(tag.String() + " ")[0], "/"))
			switch name {
			case "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote":
				b.WriteByte('\n')
			}
		case inTag:
			tag.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	out := html.UnescapeString(b.String())
	lines := strings.Split(out, "\n")
	var keep []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func looksLikeHTML(s string) bool {
	l := strings.ToLower(s)
	for _, t := range []string{"<p>", "<p ", "<br", "<div", "</", "<span", "<b>", "<i>", "<ul", "<li"} {
		if strings.Contains(l, t) {
			return true
		}
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ---------------------------------------------------------------------------
// Checkpoints and rejects

// checkpoint is where an import stands: everything before Offset was sent
// and answered.
type checkpoint struct {
	Version    int       `json:"version"`
	Kind       string    `json:"kind"`
	File       string    `json:"file"`
	Head       string    `json:"head"` // SHA-256 of the file's first 64 KiB
	Offset     int64     `json:"offset"`
	Line       int       `json:"line"`
	Records    int       `json:"records"`
	Accepted   int       `json:"accepted"`
	Duplicates int       `json:"duplicates"`
	Rejected   int       `json:"rejected"`
	Done       bool      `json:"done"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// fileHead fingerprints a file by its first 64 KiB.
func fileHead(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, 64<<10); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// loadCheckpoint reads the checkpoint of an import; a missing file is a
// fresh start.
func loadCheckpoint(path, kind, file, head string) (checkpoint, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, err
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return checkpoint{}, false, fmt.Errorf("checkpoint %s is not readable (%v); delete it or pass --restart", path, err)
	}
	if cp.Kind != kind || cp.Head != head {
		return checkpoint{}, false, fmt.Errorf("checkpoint %s belongs to another import (%s of %s, or the file changed); delete it or pass --restart", path, cp.Kind, cp.File)
	}
	return cp, true, nil
}

// reject is one row that was not sent.
type reject struct {
	Line   int               `json:"line,omitempty"`
	Item   int               `json:"item,omitempty"`
	Field  string            `json:"field,omitempty"`
	Reason string            `json:"reason"`
	Row    map[string]string `json:"row,omitempty"`
}

// ---------------------------------------------------------------------------
// Sending

// ingestAnswer is the answer of POST /v1/contacts and /v1/orders.
type ingestAnswer struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	IDs        []string `json:"ids"`
}

// errHelpCentreMissing is returned when the server has no /v1/articles.
var errHelpCentreMissing = errors.New("the server has no help centre yet (POST /v1/articles answered 404); articles can be imported once it runs the faq service")

// postOnce sends one request and decodes its JSON answer; errors from the
// server come back as *apiError with the status.
func postOnce(ctx context.Context, c *apiClient, path, contentType string, body []byte, out any) error {
	return c.do(ctx, http.MethodPost, path, contentType, body, out)
}

// postWithRetry posts items to an ingest route and returns its answer.
func postWithRetry(ctx context.Context, c *apiClient, path, contentType string, body any) (ingestAnswer, error) {
	var res ingestAnswer
	err := postJSON(ctx, c, path, contentType, body, &res)
	return res, err
}

// postJSON posts body (JSON-encoded) and retries when the server is
// unavailable or unreachable, with backoff, for about half a minute; out
// (if not nil) receives the answer.
func postJSON(ctx context.Context, c *apiClient, path, contentType string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err = postOnce(ctx, c, path, contentType, data, out)
		if err == nil || ctx.Err() != nil || attempt == 7 || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 8*time.Second)
	}
}

func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusTooManyRequests ||
			ae.Status == http.StatusBadGateway || ae.Status == http.StatusGatewayTimeout || ae.Status == http.StatusInternalServerError
	}
	return true // the network
}

// pendingRow is a converted row waiting to be sent.
type pendingRow struct {
	line   int
	item   any
	fields map[string]string
}

// batch is a run of rows sent in one request (or a few, when the server
// rejects some).
type batch struct {
	seq     int
	rows    []pendingRow
	rejects []reject
	end     int64 // byte offset after the batch's last row
	line    int   // last line of the batch
	records int   // rows read up to the end of the batch

	accepted, duplicates int
	err                  error
}

// importer runs one contacts or orders import.
type importer struct {
	opts   importOptions
	client *apiClient
	conv   *converter
	path   string // the API path
	jsonIn bool   // rows are numbered as items, not lines
	stderr io.Writer
}

// sendBatch sends a batch; items the server refuses by index move to the
// batch's rejects and the rest is sent again.
func (im *importer) sendBatch(ctx context.Context, b *batch) error {
	return im.sendRows(ctx, b, b.rows)
}

func (im *importer) sendRows(ctx context.Context, b *batch, rows []pendingRow) error {
	for len(rows) > 0 {
		items := make([]any, len(rows))
		for i, r := range rows {
			items[i] = r.item
		}
		res, err := postWithRetry(ctx, im.client, im.path, "application/json", items)
		if err == nil {
			b.accepted += res.Accepted
			b.duplicates += res.Duplicates
			return nil
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			return err
		}
		switch {
		case ae.Status == http.StatusBadRequest && ae.Item != nil && *ae.Item >= 0 && *ae.Item < len(rows):
			bad := rows[*ae.Item]
			b.rejects = append(b.rejects, im.rejectOf(bad.line, bad.fields, ae.Field, ae.Code+": "+ae.Message))
			rows = slices.Delete(slices.Clone(rows), *ae.Item, *ae.Item+1)
		case ae.Status == http.StatusRequestEntityTooLarge && len(rows) > 1:
			half := len(rows) / 2
			if err := im.sendRows(ctx, b, rows[:half]); err != nil {
				return err
			}
			rows = rows[half:]
		case ae.Status == http.StatusRequestEntityTooLarge:
			b.rejects = append(b.rejects, im.rejectOf(rows[0].line, rows[0].fields, ae.Field, ae.Code+": "+ae.Message))
			return nil
		case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
			return fmt.Errorf("the server refused the token (%w); pass --token or set NOCONTACT_TOKEN", err)
		default:
			return err
		}
	}
	return nil
}

func (im *importer) rejectOf(line int, fields map[string]string, field, reason string) reject {
	r := reject{Field: field, Reason: reason, Row: fields}
	if im.jsonIn {
		r.Item = line
	} else {
		r.Line = line
	}
	return r
}

// importRows runs `nocontact import contacts|orders`.
func importRows(ctx context.Context, client *apiClient, opts importOptions, stdout, stderr io.Writer) error {
	m, err := buildMapping(opts)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	conv, err := newConverter(opts, m, time.Now)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	abs, err := filepath.Abs(opts.path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("import: %s is a directory; %s come from one file", opts.path, opts.kind)
	}
	head, err := fileHead(abs)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if opts.checkpoint == "" {
		opts.checkpoint = abs + ".nocontact-import.json"
	}
	if opts.rejects == "" {
		opts.rejects = abs + ".rejects.jsonl"
	}
	var cp checkpoint
	resumed := false
	if !opts.restart && !opts.dryRun {
		cp, resumed, err = loadCheckpoint(opts.checkpoint, opts.kind, abs, head)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if resumed && cp.Done && cp.Offset >= st.Size() {
			fmt.Fprintf(stdout, "import: %s was imported already (%d rows: %d accepted, %d duplicates, %d rejected); pass --restart to import it again\n",
				opts.path, cp.Records, cp.Accepted, cp.Duplicates, cp.Rejected)
			return nil
		}
		cp.Done = false // not done, or the file has grown since: go on from where it ended
		if resumed && cp.Offset > st.Size() {
			return fmt.Errorf("import: %s is shorter than its checkpoint %s says; delete the checkpoint or pass --restart", opts.path, opts.checkpoint)
		}
	}
	if !resumed {
		cp = checkpoint{Version: 1, Kind: opts.kind, File: abs, Head: head}
	}
	if len(m.Reasons) > 0 && !opts.dryRun {
		if err := checkReasonCodes(ctx, client, m.Reasons); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	src, format, err := openRows(abs, opts.format, opts.delimiter, cp)
	if err != nil {
		return fmt.Errorf("import: %s: %w", opts.path, err)
	}
	defer src.close()
	if h := src.header(); h != nil {
		unused, err := conv.checkHeader(h)
		if err != nil {
			return fmt.Errorf("import: %s: %w", opts.path, err)
		}
		if len(unused) > 0 {
			list := strings.Join(unused[:min(len(unused), 8)], ", ")
			if len(unused) > 8 {
				list += fmt.Sprintf(" and %d more", len(unused)-8)
			}
			fmt.Fprintf(stderr, "import: ignoring %d columns that nothing maps: %s\n", len(unused), list)
		}
	}
	rejectsFile, err := openRejects(opts.rejects, resumed)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer rejectsFile.close()
	if !opts.dryRun {
		if err := writeJSONFile(opts.checkpoint, cp); err != nil {
			return fmt.Errorf("import: cannot write the checkpoint (%w); pass --checkpoint PATH", err)
		}
	}

	im := &importer{opts: opts, client: client, conv: conv, path: "/v1/" + opts.kind, jsonIn: format == "json", stderr: stderr}
	if resumed {
		where := fmt.Sprintf("line %d", cp.Line)
		if im.jsonIn {
			where = fmt.Sprintf("record %d", cp.Records)
		}
		fmt.Fprintf(stderr, "import: resuming %s after %s (%d rows done; checkpoint %s)\n", opts.path, where, cp.Records, opts.checkpoint)
	}
	prog := newProgress(stderr, opts.progress, st.Size(), cp.Offset, cp.Records)
	began := time.Now()
	startRecords := cp.Records
	runErr := im.run(ctx, src, &cp, rejectsFile, prog)
	prog.finish(cp.Offset, cp.Records, cp.Rejected)
	took := time.Since(began)
	rate := float64(cp.Records-startRecords) / max(took.Seconds(), 1e-3)
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			fmt.Fprintf(stderr, "import: interrupted after %d rows; run the same command again to resume\n", cp.Records)
		}
		return fmt.Errorf("import: %s: %w", opts.path, runErr)
	}
	if opts.dryRun {
		fmt.Fprintf(stdout, "import: checked %s (dry run, nothing sent): %d rows: %d would be sent, %d rejected\n",
			opts.path, cp.Records, cp.Accepted, cp.Rejected)
	} else {
		fmt.Fprintf(stdout, "import: imported %s: %d rows: %d accepted, %d duplicates, %d rejected in %s (%.0f rows/s)\n",
			opts.path, cp.Records, cp.Accepted, cp.Duplicates, cp.Rejected, took.Round(time.Millisecond), rate)
	}
	if opts.wait && !opts.dryRun {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		err := client.waitIdle(wctx, 250*time.Millisecond)
		cancel()
		if err != nil {
			return fmt.Errorf("import: wait for the pipeline to be idle: %w", err)
		}
		fmt.Fprintf(stdout, "import: the pipeline has processed everything (%s in all)\n", time.Since(began).Round(time.Millisecond))
	}
	if cp.Rejected > 0 {
		fmt.Fprintf(stdout, "import: rejected rows and their reasons are in %s\n", opts.rejects)
		if !opts.allowRejects {
			return &rejectedRowsError{n: cp.Rejected, what: "rows", path: opts.rejects}
		}
	}
	return nil
}

// rejectedRowsError ends an import whose rows were not all accepted.
type rejectedRowsError struct {
	n    int
	what string // rows or articles
	path string
}

func (e *rejectedRowsError) Error() string {
	return fmt.Sprintf("import: %d %s were rejected (reasons in %s); fix them and import again, or pass --allow-rejects", e.n, e.what, e.path)
}

// ExitCode makes rejected rows exit with 3, distinct from other errors.
func (e *rejectedRowsError) ExitCode() int { return 3 }

// rejectsWriter appends rejects as JSON lines, creating the file at the
// first one.
type rejectsWriter struct {
	path string
	f    *os.File
	w    *bufio.Writer
}

func openRejects(path string, resumed bool) (*rejectsWriter, error) {
	if !resumed {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove old rejects file: %w", err)
		}
	}
	// Find out now, not at the first reject, whether the file can be written.
	probe, err := os.CreateTemp(filepath.Dir(path), ".rejects-probe*")
	if err != nil {
		return nil, fmt.Errorf("cannot write the rejects file %s (%w); pass --rejects PATH", path, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return &rejectsWriter{path: path}, nil
}

func (r *rejectsWriter) write(rejects []reject) error {
	if len(rejects) == 0 {
		return nil
	}
	if r.f == nil {
		f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("rejects file: %w", err)
		}
		r.f, r.w = f, bufio.NewWriter(f)
	}
	enc := json.NewEncoder(r.w)
	enc.SetEscapeHTML(false)
	for _, rj := range rejects {
		if err := enc.Encode(rj); err != nil {
			return err
		}
	}
	return r.w.Flush()
}

func (r *rejectsWriter) close() error {
	if r.f == nil {
		return nil
	}
	return errors.Join(r.w.Flush(), r.f.Close())
}

// run reads, converts and sends every row from src, committing batches in
// order: rejects are written and the checkpoint moves only when a batch
// and all before it are answered.
func (im *importer) run(ctx context.Context, src rowSource, cp *checkpoint, rejects *rejectsWriter, prog *progress) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *batch, im.opts.parallel)
	done := make(chan *batch, im.opts.parallel)
	var readErr error
	go func() {
		defer close(todo)
		readErr = im.read(ctx, src, cp.Records, todo)
	}()
	var wg sync.WaitGroup
	for range im.opts.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				switch {
				case im.opts.dryRun:
					b.accepted = len(b.rows)
				case len(b.rows) > 0:
					b.err = im.sendBatch(ctx, b)
				}
				done <- b
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	next := 0
	waiting := map[int]*batch{}
	var err error
	for b := range done {
		waiting[b.seq] = b
		for err == nil {
			b, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if b.err != nil {
				err = b.err
				cancel()
				break
			}
			if werr := rejects.write(b.rejects); werr != nil {
				err = werr
				cancel()
				break
			}
			cp.Offset, cp.Line, cp.Records = b.end, b.line, b.records
			cp.Accepted += b.accepted
			cp.Duplicates += b.duplicates
			cp.Rejected += len(b.rejects)
			if !im.opts.dryRun {
				cp.UpdatedAt = time.Now().UTC()
				if werr := writeJSONFile(im.opts.checkpoint, cp); werr != nil {
					err = fmt.Errorf("write checkpoint: %w", werr)
					cancel()
					break
				}
			}
			prog.update(cp.Offset, cp.Records, cp.Rejected)
		}
	}
	if err == nil && readErr != nil {
		err = readErr
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	cp.Done = true
	if !im.opts.dryRun {
		cp.UpdatedAt = time.Now().UTC()
		if werr := writeJSONFile(im.opts.checkpoint, cp); werr != nil {
			return fmt.Errorf("write checkpoint: %w", werr)
		}
	}
	return nil
}

// read turns rows into batches.
func (im *importer) read(ctx context.Context, src rowSource, records int, todo chan<- *batch) error {
	seq := 0
	b := &batch{seq: seq}
	flush := func() bool {
		select {
		case todo <- b:
		case <-ctx.Done():
			return false
		}
		seq++
		b = &batch{seq: seq}
		return true
	}
	for {
		r, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		records++
		b.end, b.line, b.records = r.end, r.last, records
		item, cerr := im.conv.convert(r)
		if cerr != nil {
			var fe *fieldError
			field, msg := "", cerr.Error()
			if errors.As(cerr, &fe) {
				field, msg = fe.field, fe.msg
			}
			b.rejects = append(b.rejects, im.rejectOf(r.line, r.fields(), field, msg))
		} else {
			b.rows = append(b.rows, pendingRow{line: r.line, item: item, fields: r.fields()})
		}
		if len(b.rows)+len(b.rejects) >= im.opts.batch {
			if !flush() {
				return ctx.Err()
			}
		}
	}
	if len(b.rows)+len(b.rejects) > 0 {
		if !flush() {
			return ctx.Err()
		}
	}
	return nil
}

// checkReasonCodes makes sure the reasons a mapping sends are codes of the
// server's taxonomy.
func checkReasonCodes(ctx context.Context, client *apiClient, reasons map[string]string) error {
	var tax struct {
		Reasons []struct {
			Code string `json:"code"`
		} `json:"reasons"`
	}
	if err := client.do(ctx, http.MethodGet, "/v1/reasons", "", nil, &tax); err != nil {
		return fmt.Errorf("read the taxonomy to check the mapping's reasons: %w", err)
	}
	known := map[string]bool{}
	for _, r := range tax.Reasons {
		known[r.Code] = true
	}
	var bad []string
	for _, v := range slices.Sorted(maps.Keys(reasons)) {
		if !known[reasons[v]] {
			bad = append(bad, fmt.Sprintf("%q -> %s", v, reasons[v]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("the mapping sends reasons the taxonomy does not have: %s", strings.Join(bad, ", "))
	}
	return nil
}

// ---------------------------------------------------------------------------
// Progress

// progress shows how far an import is: a bar with rate and ETA on a
// terminal, a plain line every few seconds otherwise.
type progress struct {
	w          io.Writer
	mode       string // bar, lines or none
	total      int64
	start      time.Time
	startBytes int64
	startRows  int
	last       time.Time
	now        func() time.Time
}

func newProgress(w io.Writer, mode string, total, offset int64, records int) *progress {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			mode = "bar"
		}
	}
	now := time.Now()
	return &progress{w: w, mode: mode, total: total, start: now, startBytes: offset, startRows: records, last: now, now: time.Now}
}

func (p *progress) update(offset int64, rows, rejected int) {
	if p.mode == "none" {
		return
	}
	now := p.now()
	every := 5 * time.Second
	if p.mode == "bar" {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	p.draw(offset, rows, rejected, false)
}

func (p *progress) finish(offset int64, rows, rejected int) {
	if p.mode == "bar" {
		p.draw(offset, rows, rejected, true)
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(offset int64, rows, rejected int, final bool) {
	elapsed := p.now().Sub(p.start).Seconds()
	rate := float64(rows-p.startRows) / max(elapsed, 1e-3)
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(offset)/float64(p.total))
	}
	eta := "-"
	if bytesRate := float64(offset-p.startBytes) / max(elapsed, 1e-3); bytesRate > 0 && !final {
		eta = (time.Duration(float64(p.total-offset)/bytesRate) * time.Second).Round(time.Second).String()
	}
	if final {
		eta = "0s"
	}
	if p.mode == "bar" {
		const width = 30
		n := int(frac * width)
		bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		fmt.Fprintf(p.w, "\r[%s] %3.0f%% %d rows (%d rejected) %.0f rows/s ETA %s   ", bar, 100*frac, rows, rejected, rate, eta)
		return
	}
	fmt.Fprintf(p.w, "import: %d rows (%.0f%%), %d rejected, %.0f rows/s, eta %s\n", rows, 100*frac, rejected, rate, eta)
}

// ---------------------------------------------------------------------------
// Articles

// article is a help-centre article as POST /v1/articles takes it: the
// fields of the shared articles.jsonl files plus slug, tags, status and
// reasons.
type article struct {
	ID        string   `json:"id" yaml:"id"`
	Slug      string   `json:"slug,omitempty" yaml:"slug"`
	Title     string   `json:"title" yaml:"title"`
	Body      string   `json:"body" yaml:"body"`
	Questions []string `json:"questions,omitempty" yaml:"questions"`
	Locale    string   `json:"locale" yaml:"locale"`
	Reasons   []string `json:"reasons,omitempty" yaml:"reasons"`
	Tags      []string `json:"tags,omitempty" yaml:"tags"`
	Status    string   `json:"status" yaml:"status"`
	Source    string   `json:"source,omitempty" yaml:"source"`
}

// articleFrontMatter are the keys a Markdown article's front matter may
// hold.
func articleFrontMatter() []string {
	return []string{"id", "slug", "title", "locale", "lang", "questions", "reasons", "tags", "status", "source"}
}

// parseMarkdownArticle reads an article from Markdown with YAML front
// matter between "---" lines. The id comes from id or slug, else the file
// name; the title from the front matter, else the first "# " heading; the
// locale from the front matter, else the text's script.
func parseMarkdownArticle(name string, data []byte) (article, error) {
	if !utf8.Valid(data) {
		return article{}, errors.New("not UTF-8")
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var a article
	body := text
	if strings.HasPrefix(text, "---\n") {
		end := strings.Index(text[4:], "\n---")
		if end < 0 {
			return article{}, errors.New("front matter starts with --- but never ends with a --- line")
		}
		front := text[4 : 4+end]
		rest := text[4+end+4:]
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			if strings.TrimSpace(rest[:i]) != "" {
				return article{}, errors.New("the --- that ends the front matter must be alone on its line")
			}
			rest = rest[i+1:]
		} else if strings.TrimSpace(rest) != "" {
			return article{}, errors.New("the --- that ends the front matter must be alone on its line")
		} else {
			rest = ""
		}
		body = rest
		var raw map[string]yaml.Node
		if err := yaml.Unmarshal([]byte(front), &raw); err != nil {
			return article{}, fmt.Errorf("front matter: %w", err)
		}
		for _, k := range slices.Sorted(maps.Keys(raw)) {
			if !slices.Contains(articleFrontMatter(), k) {
				return article{}, fmt.Errorf("front matter: unknown key %q (known: %s)", k, strings.Join(articleFrontMatter(), ", "))
			}
		}
		var fm struct {
			article `yaml:",inline"`
			Lang    string `yaml:"lang"`
		}
		if err := yaml.Unmarshal([]byte(front), &fm); err != nil {
			return article{}, fmt.Errorf("front matter: %w", err)
		}
		a = fm.article
		if a.Locale == "" {
			a.Locale = fm.Lang
		}
	}
	body = strings.TrimSpace(body)
	if a.Title == "" {
		first, rest, _ := strings.Cut(body, "\n")
		if t, ok := strings.CutPrefix(strings.TrimSpace(first), "# "); ok {
			a.Title = strings.TrimSpace(t)
			body = strings.TrimSpace(rest)
		}
	}
	a.Body = body
	if a.ID == "" && a.Slug == "" {
		a.Slug = slugify(strings.TrimSuffix(name, filepath.Ext(name)))
	}
	return a, nil
}

// slugify turns a name into lower-case ASCII words joined by '-'; a name
// without any ASCII letter or digit (a Chinese file name) becomes
// "article-" and a hash of it.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	if b.Len() == 0 && s != "" {
		sum := sha256.Sum256([]byte(s))
		return "article-" + hex.EncodeToString(sum[:4])
	}
	return b.String()
}

// nameTrim are the characters trimmed from article ids and reason names.
const nameTrim = " \t?!.,;:"

// Limits of an article, as the help centre checks them.
const (
	maxArticleTitle    = 500
	maxArticleBody     = 200 << 10
	maxArticleList     = 50
	maxArticleListItem = 100
	maxQuestions       = 100
	maxQuestionBytes   = 1000
)

// isArticleName reports whether s is an article id or reason name the help
// centre takes: an ASCII letter or digit, then letters, digits, '.', '_'
// or '-'.
func isArticleName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// finishArticle fills defaults and checks an article.
func finishArticle(a *article) error {
	// Stray punctuation around a name ("reverted_card_payment?" in a shared
	// FAQ set) is dropped; what remains must be a valid name.
	a.ID, a.Slug, a.Title = strings.Trim(a.ID, nameTrim), strings.Trim(a.Slug, nameTrim), strings.TrimSpace(a.Title)
	if a.ID == "" {
		a.ID = a.Slug
	}
	if a.Slug == "" {
		a.Slug = slugify(a.ID)
	}
	switch {
	case a.ID == "":
		return badField("id", "the article has no id or slug")
	case len(a.ID) > 200 || !isArticleName(a.ID):
		return badField("id", "%q: use up to 200 ASCII letters, digits, '.', '_' or '-'", a.ID)
	case len(a.Slug) > 200 || !isArticleName(a.Slug):
		return badField("slug", "%q: use up to 200 ASCII letters, digits, '.', '_' or '-'", a.Slug)
	case a.Title == "":
		return badField("title", "the article has no title (front matter title, or a first line \"# Title\")")
	case len(a.Title) > maxArticleTitle:
		return badField("title", "longer than %d bytes", maxArticleTitle)
	case len(a.Body) > maxArticleBody:
		return badField("body", "longer than %d bytes", maxArticleBody)
	case strings.TrimSpace(a.Body) == "" && len(a.Questions) == 0:
		return badField("body", "the article has neither a body nor questions")
	case len(a.Questions) > maxQuestions:
		return badField("questions", "more than %d questions", maxQuestions)
	case len(a.Reasons) > maxArticleList:
		return badField("reasons", "more than %d reasons", maxArticleList)
	case len(a.Tags) > maxArticleList:
		return badField("tags", "more than %d tags", maxArticleList)
	}
	if a.Locale == "" {
		a.Locale = "en"
		if textproc.DetectLocale(a.Title+" "+a.Body) == "zh" {
			a.Locale = "zh"
		}
	}
	l, ok := normLocale(a.Locale)
	if !ok {
		return badField("locale", "%q is not a language tag like en or zh-CN", a.Locale)
	}
	a.Locale = l
	if a.Status == "" {
		a.Status = "published"
	}
	a.Status = strings.ToLower(a.Status)
	if a.Status != "draft" && a.Status != "published" {
		return badField("status", "%q is neither draft nor published", a.Status)
	}
	// Reasons are passed on as named (the shared FAQ sets use their own
	// intent names; which are codes of the taxonomy is the help centre's
	// concern), without stray punctuation around them.
	for i, r := range a.Reasons {
		r = strings.Trim(r, nameTrim)
		if len(r) > maxArticleListItem || !isArticleName(r) {
			return badField("reasons", "%q is not a reason name (ASCII letters, digits, '.', '_', '-')", a.Reasons[i])
		}
		a.Reasons[i] = r
	}
	for i, t := range a.Tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > maxArticleListItem || strings.IndexFunc(t, unicode.IsControl) >= 0 {
			return badField("tags", "tag %d is empty, longer than %d bytes or has control characters", i, maxArticleListItem)
		}
		a.Tags[i] = t
	}
	var qs []string
	for _, q := range a.Questions {
		if q = strings.TrimSpace(q); q != "" {
			if len(q) > maxQuestionBytes {
				return badField("questions", "a question is longer than %d bytes", maxQuestionBytes)
			}
			qs = append(qs, q)
		}
	}
	a.Questions = qs
	return nil
}

// articleRecord is an article read from a file, or why it could not be.
type articleRecord struct {
	file string
	line int
	a    article
	err  error
}

// readArticles reads every article of a Markdown file, a JSONL file, or a
// directory of them (walked in name order; hidden entries skipped).
func readArticles(path string) ([]articleRecord, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != path && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() && isArticleFile(p) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s holds no .md or .jsonl files", path)
		}
	} else {
		if !isArticleFile(path) {
			return nil, fmt.Errorf("%s is neither Markdown (.md) nor JSON Lines (.jsonl)", path)
		}
		files = []string{path}
	}
	var out []articleRecord
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f), ".jsonl") || strings.EqualFold(filepath.Ext(f), ".ndjson") {
			recs, err := readArticlesJSONL(f)
			if err != nil {
				return nil, err
			}
			out = append(out, recs...)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		a, err := parseMarkdownArticle(filepath.Base(f), data)
		if err == nil {
			err = finishArticle(&a)
		}
		out = append(out, articleRecord{file: f, a: a, err: err})
	}
	return out, nil
}

func isArticleFile(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".md", ".markdown", ".jsonl", ".ndjson":
		return true
	}
	return false
}

func readArticlesJSONL(path string) ([]articleRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxLine)
	var out []articleRecord
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 {
			continue
		}
		rec := articleRecord{file: path, line: line}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec.a); err != nil {
			rec.err = fmt.Errorf("not an article: %v", err)
		} else {
			rec.err = finishArticle(&rec.a)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// importArticles runs `nocontact import articles`.
func importArticles(ctx context.Context, client *apiClient, opts importOptions, stdout, stderr io.Writer) error {
	recs, err := readArticles(opts.path)
	if err != nil {
		return fmt.Errorf("import: articles: %w", err)
	}
	if opts.rejects == "" {
		opts.rejects = strings.TrimRight(opts.path, string(filepath.Separator)) + ".rejects.jsonl"
	}
	rw, err := openRejects(opts.rejects, false)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer rw.close()
	var good []article
	var rejects []reject
	seen := map[string]string{}
	for _, r := range recs {
		if r.err == nil {
			if prev, dup := seen[r.a.ID]; dup {
				r.err = badField("id", "id %q also belongs to %s", r.a.ID, prev)
			}
		}
		if r.err != nil {
			var fe *fieldError
			field, msg := "", r.err.Error()
			if errors.As(r.err, &fe) {
				field, msg = fe.field, fe.msg
			}
			rejects = append(rejects, reject{Line: r.line, Field: field, Reason: msg, Row: map[string]string{"file": r.file}})
			fmt.Fprintf(stderr, "import: %s: %s\n", articlePlace(r), r.err)
			continue
		}
		seen[r.a.ID] = articlePlace(r)
		good = append(good, r.a)
	}
	if err := rw.write(rejects); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	sent := 0
	if !opts.dryRun {
		for b := range slices.Chunk(good, min(opts.batch, 100)) {
			n, refused, err := sendArticles(ctx, client, b)
			sent += n
			for _, r := range refused {
				fmt.Fprintf(stderr, "import: %s: refused by the server: %s\n", r.Row["id"], r.Reason)
			}
			rejects = append(rejects, refused...)
			if werr := rw.write(refused); werr != nil {
				return fmt.Errorf("import: %w", werr)
			}
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
		}
	}
	verb := "imported"
	if opts.dryRun {
		verb = "checked (dry run, nothing sent)"
	}
	fmt.Fprintf(stdout, "import: %s %d articles from %s (%d sent), %d rejected\n", verb, len(good), opts.path, sent, len(rejects))
	if len(rejects) > 0 {
		fmt.Fprintf(stdout, "import: rejected articles and their reasons are in %s\n", opts.rejects)
		if !opts.allowRejects {
			return &rejectedRowsError{n: len(rejects), what: "articles", path: opts.rejects}
		}
	}
	return nil
}

// sendArticles posts a batch of articles; an article the server refuses
// by index is returned as a reject and the rest is sent again.
func sendArticles(ctx context.Context, client *apiClient, batch []article) (sent int, refused []reject, err error) {
	for len(batch) > 0 {
		err := postJSON(ctx, client, "/v1/articles", "application/json", batch, nil)
		if err == nil {
			return sent + len(batch), refused, nil
		}
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			return sent, refused, errHelpCentreMissing
		case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Item != nil && *ae.Item >= 0 && *ae.Item < len(batch):
			bad := batch[*ae.Item]
			refused = append(refused, reject{Field: ae.Field, Reason: ae.Code + ": " + ae.Message, Row: map[string]string{"id": bad.ID, "title": bad.Title}})
			batch = slices.Delete(slices.Clone(batch), *ae.Item, *ae.Item+1)
		default:
			return sent, refused, fmt.Errorf("articles: POST /v1/articles: %w", err)
		}
	}
	return sent, refused, nil
}

func articlePlace(r articleRecord) string {
	if r.line > 0 {
		return fmt.Sprintf("%s:%d", r.file, r.line)
	}
	return r.file
}
