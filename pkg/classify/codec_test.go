package classify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainSynthetic(t, Options{Seed: 5})
	data := saved(t, m)
	got, err := Load(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got.Version() != m.Version() {
		t.Errorf("version %s after load, %s before", got.Version(), m.Version())
	}
	if !bytes.Equal(saved(t, got), data) {
		t.Error("saving a loaded model gives different bytes")
	}
	for _, e := range synthetic(5, 99) {
		a, b := m.Predict(e.Text), got.Predict(e.Text)
		if a.Label != b.Label || a.Confidence != b.Confidence || a.OutOfScope != b.OutOfScope || len(a.Top) != len(b.Top) {
			t.Fatalf("Predict(%q): %+v before save, %+v after load", e.Text, a, b)
		}
	}
}

// TestLoadVersion1 checks that a model saved before the network existed
// (format version 1: the same body without the network section) still
// loads and predicts like the SVMs alone.
func TestLoadVersion1(t *testing.T) {
	m := trainSynthetic(t, Options{Seed: 5, Hidden: -1})
	if m.net != nil {
		t.Fatal("Hidden -1 trained a network")
	}
	v2 := saved(t, m)
	// Version 2 ends the body with a zero byte (no network), then the CRC.
	body := v2[len(magic)+2 : len(v2)-5]
	if v2[len(v2)-5] != 0 {
		t.Fatalf("network flag %d, want 0", v2[len(v2)-5])
	}
	var v1 []byte
	v1 = append(v1, magic...)
	v1 = binary.LittleEndian.AppendUint16(v1, 1)
	v1 = append(v1, body...)
	v1 = binary.LittleEndian.AppendUint32(v1, crc32.ChecksumIEEE(v1))
	got, err := Load(bytes.NewReader(v1))
	if err != nil {
		t.Fatalf("load version 1: %v", err)
	}
	if got.net != nil {
		t.Error("version 1 model loaded with a network")
	}
	if got.Version() != m.Version() {
		t.Errorf("version %s from format version 1, %s from version 2", got.Version(), m.Version())
	}
	for _, e := range synthetic(5, 99) {
		a, b := m.Predict(e.Text), got.Predict(e.Text)
		if a.Label != b.Label || a.Confidence != b.Confidence || a.OutOfScope != b.OutOfScope {
			t.Fatalf("Predict(%q): %+v saved as version 2, %+v as version 1", e.Text, a, b)
		}
	}
}

func TestLoadRejectsBadData(t *testing.T) {
	good := saved(t, trainSynthetic(t, Options{Seed: 5}))
	patched := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"bad magic", patched(func(b []byte) { copy(b, "GIF89a") }), "bad magic"},
		{"newer version", patched(func(b []byte) { binary.LittleEndian.PutUint16(b[len(magic):], formatVersion+1) }), fmt.Sprintf("format version %d", formatVersion+1)},
		{"version 0", patched(func(b []byte) { binary.LittleEndian.PutUint16(b[len(magic):], 0) }), "format version 0"},
		{"truncated header", good[:len(magic)+1], "truncated"},
		{"truncated body", good[:len(good)/2], "truncated"},
		{"truncated checksum", good[:len(good)-2], "truncated checksum"},
		{"flipped weight", patched(func(b []byte) { b[len(b)-40] ^= 0x10 }), "checksum"},
		{"huge label count", patched(func(b []byte) { binary.LittleEndian.PutUint32(b[len(magic)+2:], 1<<30) }), "labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrBadModel) {
				t.Fatalf("Load = %v, want ErrBadModel", err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("Load = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	good := saved(f, trainSynthetic(f, Options{Seed: 5, SkipCalibration: true}))
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever loads must predict without panicking.
		m.Predict("where is my refund")
	})
}
