package classify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadExamples(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                []Example
		wantErr             string
	}{
		{"csv", "a.csv", "text,label\nwhere is my refund,refund\n\"late, again\",delivery\n",
			[]Example{{"where is my refund", "refund"}, {"late, again", "delivery"}}, ""},
		{"columns in any order with extras", "a.csv", "\ufeffid,Label,Text\n1,refund,money back\n2,delivery,parcel late\n",
			[]Example{{"money back", "refund"}, {"parcel late", "delivery"}}, ""},
		{"jsonl", "a.jsonl", "{\"text\":\"money back\",\"label\":\"refund\"}\n\n{\"label\":\"delivery\",\"text\":\"包裹没到\"}\n",
			[]Example{{"money back", "refund"}, {"包裹没到", "delivery"}}, ""},
		{"jsonl by content", "a.txt", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":\"y\"}\n",
			[]Example{{"a", "x"}, {"b", "y"}}, ""},
		{"wrong header", "a.csv", "utterance,intent\nhi,greet\n", nil, "need columns named text and label"},
		{"empty", "a.csv", "", nil, "empty file"},
		{"blank", "a.csv", "\n  \n", nil, "empty file"},
		{"header only", "a.csv", "text,label\n", nil, "no examples"},
		{"one class", "a.csv", "text,label\na,x\nb,x\n", nil, "at least two distinct labels"},
		{"invalid utf-8", "a.csv", "text,label\na,x\nb\xff,y\n", nil, "line 3: invalid UTF-8"},
		{"invalid utf-8 jsonl", "a.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"\xff\",\"label\":\"y\"}\n", nil, "line 2: invalid UTF-8"},
		{"empty text", "a.csv", "text,label\na,x\n  ,y\n", nil, "line 3: empty text"},
		{"empty label", "a.csv", "text,label\na,x\nb,\n", nil, "line 3: empty label"},
		{"jsonl missing field", "a.jsonl", "{\"text\":\"a\"}\n", nil, "line 1: need fields text and label"},
		{"jsonl broken", "a.jsonl", "{\"text\":\"a\",\n", nil, "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadExamples(writeFile(t, tt.file, tt.content))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadExamples = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("example %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReadExamplesSentinels(t *testing.T) {
	if _, err := ReadExamples(writeFile(t, "a.csv", "text,label\na,x\n")); !errors.Is(err, ErrTooFewLabels) {
		t.Errorf("one class: %v, want ErrTooFewLabels", err)
	}
	if _, err := ReadExamples(writeFile(t, "a.csv", "")); !errors.Is(err, ErrNoExamples) {
		t.Errorf("empty: %v, want ErrNoExamples", err)
	}
	if _, err := ReadExamples(filepath.Join(t.TempDir(), "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzReadExamples(f *testing.F) {
	f.Add([]byte("text,label\na,x\nb,y\n"), false)
	f.Add([]byte("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":\"y\"}"), true)
	f.Add([]byte("label,text\n\"x\",\"a\"\"b\"\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		ex, err := readExamples(strings.NewReader(string(data)), jsonl)
		if err != nil {
			return
		}
		for _, e := range ex {
			if strings.TrimSpace(e.Text) == "" || e.Label == "" {
				t.Fatalf("accepted an empty example %+v", e)
			}
		}
	})
}
