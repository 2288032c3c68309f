package classify

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ErrNoExamples is returned by ReadExamples for a file without any
// example.
var ErrNoExamples = errors.New("no examples")

// ReadExamples reads labelled texts from a CSV file whose header names a
// "text" and a "label" column (in any order, other columns ignored) or from
// a JSON Lines file of {"text": ..., "label": ...} objects (chosen by a
// .jsonl or .ndjson extension, or by a first character "{"). It rejects
// files that are empty, lack those columns, hold invalid UTF-8 or a row
// without text or label (naming the line), or carry fewer than two labels.
func ReadExamples(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read examples: %w", err)
	}
	defer f.Close()
	ext := strings.ToLower(filepath.Ext(path))
	ex, err := readExamples(f, ext == ".jsonl" || ext == ".ndjson")
	if err != nil {
		return nil, fmt.Errorf("read examples %s: %w", path, err)
	}
	return ex, nil
}

// readExamples parses CSV, or JSON Lines when jsonl is set or the data
// starts with "{".
func readExamples(r io.Reader, jsonl bool) ([]Example, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// Skip a UTF-8 byte order mark.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xef, 0xbb, 0xbf}) {
		_, _ = br.Discard(3)
	}
	first, err := firstByte(br)
	if err != nil {
		return nil, err
	}
	var ex []Example
	if jsonl || first == '{' {
		ex, err = readJSONL(br)
	} else {
		ex, err = readCSV(br)
	}
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return nil, ErrNoExamples
	}
	labels := map[string]bool{}
	for _, e := range ex {
		labels[e.Label] = true
	}
	if len(labels) < 2 {
		return nil, fmt.Errorf("%d examples, all labelled %q: %w", len(ex), ex[0].Label, ErrTooFewLabels)
	}
	return ex, nil
}

// firstByte returns the first byte that is not white space, without
// consuming it; it returns ErrNoExamples when there is none.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, fmt.Errorf("empty file: %w", ErrNoExamples)
			}
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.Discard(1)
		default:
			return b[0], nil
		}
	}
}

func readCSV(r io.Reader) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	textCol, labelCol := -1, -1
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("line 1: invalid UTF-8 in header")
		}
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "text":
			textCol = i
		case "label":
			labelCol = i
		}
	}
	if textCol < 0 || labelCol < 0 {
		return nil, fmt.Errorf("csv header %q: need columns named text and label", strings.Join(header, ","))
	}
	var ex []Example
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return ex, nil
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(textCol, labelCol) {
			return nil, fmt.Errorf("line %d: %d fields, need %d", line, len(rec), max(textCol, labelCol)+1)
		}
		e, err := example(rec[textCol], rec[labelCol])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		ex = append(ex, e)
	}
}

func readJSONL(r io.Reader) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var ex []Example
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("line %d: invalid UTF-8", line)
		}
		var row struct {
			Text  *string `json:"text"`
			Label *string `json:"label"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if row.Text == nil || row.Label == nil {
			return nil, fmt.Errorf("line %d: need fields text and label", line)
		}
		e, err := example(*row.Text, *row.Label)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		ex = append(ex, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	return ex, nil
}

// example checks one row.
func example(text, label string) (Example, error) {
	if !utf8.ValidString(text) || !utf8.ValidString(label) {
		return Example{}, errors.New("invalid UTF-8")
	}
	label = strings.TrimSpace(label)
	switch {
	case strings.TrimSpace(text) == "":
		return Example{}, errors.New("empty text")
	case label == "":
		return Example{}, errors.New("empty label")
	}
	return Example{Text: text, Label: label}, nil
}
