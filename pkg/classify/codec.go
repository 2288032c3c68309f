package classify

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// The saved model format: the magic bytes, a little-endian uint16 format
// version, the body (labels, settings, dictionary, weights, all
// little-endian) and a CRC-32 (IEEE) of everything before it. Version 2
// appends the network blended with the SVMs to the body of version 1;
// Load reads both.
const (
	magic         = "NCMODEL\x00"
	formatVersion = 2
	// minFormatVersion is the oldest version Load reads.
	minFormatVersion = 1
)

// Limits that keep Load from allocating absurd amounts for a damaged or
// hostile file.
const (
	maxLabels   = 1 << 16
	maxLabelLen = 1 << 12
	maxFeatures = 1 << 26
	maxWeights  = 1 << 30
)

// ErrBadModel is returned by Load for input that is not a saved model:
// wrong magic bytes, an unknown format version, damaged or truncated data.
var ErrBadModel = errors.New("not a valid nocontact model")

// Save writes the model in the versioned binary format Load reads. The
// bytes depend only on the model, so a model trained twice from the same
// data and seed saves identically.
func (m *Model) Save(w io.Writer) error {
	bw := bufio.NewWriter(w)
	crc := crc32.NewIEEE()
	mw := io.MultiWriter(bw, crc)
	if _, err := io.WriteString(mw, magic); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := binary.Write(mw, binary.LittleEndian, uint16(formatVersion)); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := m.encodeBody(mw); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := m.encodeNet(mw); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := binary.Write(bw, binary.LittleEndian, crc.Sum32()); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// encoder writes little-endian values and remembers the first error.
type encoder struct {
	w   io.Writer
	buf [8]byte
	err error
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
func (e *encoder) u8(v uint8) { e.bytes([]byte{v}) }
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.bytes(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.bytes(e.buf[:8])
}
func (e *encoder) f32(v float32) { e.u32(math.Float32bits(v)) }
func (e *encoder) f64(v float64) { e.u64(math.Float64bits(v)) }
func (e *encoder) str(s string) {
	e.u32(uint32(len(s)))
	e.bytes([]byte(s))
}
func (e *encoder) f32s(vs []float32) {
	buf := make([]byte, 0, 4096)
	for _, v := range vs {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) {
			e.bytes(buf)
			buf = buf[:0]
		}
	}
	e.bytes(buf)
}

func (m *Model) encodeBody(w io.Writer) error {
	e := &encoder{w: w}
	e.u32(uint32(len(m.labels)))
	for _, l := range m.labels {
		e.str(l)
	}
	e.u32(uint32(int32(m.oos)))
	e.u8(uint8(m.fc.CharMin))
	e.u8(uint8(m.fc.CharMax))
	e.u8(uint8(m.fc.CJKMax))
	e.u8(boolByte(m.fc.WordBigrams))
	for _, bw := range m.vz.blockWeight {
		e.f32(bw)
	}
	e.u8(boolByte(m.vz.unknownInNorm))
	e.f64(m.temperature)
	e.f64(m.threshold)
	e.u8(boolByte(m.det != nil))
	if m.det != nil {
		for _, v := range [][]float64{m.det.mean[:], m.det.scale[:], m.det.w[:], {m.det.b}} {
			for _, x := range v {
				e.f64(x)
			}
		}
	}
	e.u32(uint32(m.cv.Folds))
	e.u32(uint32(m.cv.InScopeN))
	e.f64(m.cv.Accuracy)
	e.f64(m.cv.InScopeAccuracy)
	e.u32(uint32(m.cv.OOSN))
	e.f64(m.cv.OOSRecall)
	voc := m.vz.voc
	e.u32(uint32(len(voc.keys)))
	buf := make([]byte, 0, 4096)
	for _, k := range voc.keys {
		buf = binary.LittleEndian.AppendUint64(buf, k)
		if len(buf) == cap(buf) {
			e.bytes(buf)
			buf = buf[:0]
		}
	}
	e.bytes(buf)
	e.f32s(voc.idf)
	e.f32(voc.unknownIDF)
	e.f32s(m.lin.weights)
	e.f32s(m.lin.bias)
	return e.err
}

// encodeNet writes the section version 2 adds to the body: a flag byte,
// then the network's weight and layers when there is one.
func (m *Model) encodeNet(w io.Writer) error {
	e := &encoder{w: w}
	e.u8(boolByte(m.net != nil))
	if m.net != nil {
		e.f64(m.blend)
		e.u32(uint32(m.net.hidden))
		e.f32s(m.net.w1)
		e.f32s(m.net.b1)
		e.f32s(m.net.w2)
		e.f32s(m.net.b2)
	}
	return e.err
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// decoder reads little-endian values and remembers the first error.
type decoder struct {
	r   io.Reader
	buf [8]byte
	err error
}

func (d *decoder) fill(b []byte) {
	if d.err != nil {
		return
	}
	if _, err := io.ReadFull(d.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: truncated", ErrBadModel)
		}
		d.err = err
	}
}
func (d *decoder) u8() uint8 {
	d.fill(d.buf[:1])
	return d.buf[0]
}
func (d *decoder) u32() uint32 {
	d.fill(d.buf[:4])
	return binary.LittleEndian.Uint32(d.buf[:4])
}
func (d *decoder) u64() uint64 {
	d.fill(d.buf[:8])
	return binary.LittleEndian.Uint64(d.buf[:8])
}
func (d *decoder) f32() float32 { return math.Float32frombits(d.u32()) }
func (d *decoder) f64() float64 { return math.Float64frombits(d.u64()) }

// count reads a length and checks it against limit.
func (d *decoder) count(what string, limit int) int {
	n := d.u32()
	if d.err == nil && int64(n) > int64(limit) {
		d.err = fmt.Errorf("%w: %d %s (at most %d)", ErrBadModel, n, what, limit)
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count("label bytes", maxLabelLen)
	if d.err != nil {
		return ""
	}
	b := make([]byte, n)
	d.fill(b)
	return string(b)
}

// f32s reads n float32 values in chunks, so a truncated file fails before
// a huge slice is filled.
func (d *decoder) f32s(n int) []float32 {
	out := make([]float32, 0, min(n, 1<<16))
	var chunk [4096]byte
	for len(out) < n && d.err == nil {
		k := min(n-len(out), len(chunk)/4)
		d.fill(chunk[:4*k])
		for i := range k {
			out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*i:])))
		}
	}
	return out
}

// Load reads a model written by Save. It fails with an error wrapping
// ErrBadModel for data that is not a model, is of an unknown format
// version, or is damaged or truncated.
func Load(r io.Reader) (*Model, error) {
	crc := crc32.NewIEEE()
	br := bufio.NewReader(r)
	d := &decoder{r: io.TeeReader(br, crc)}
	head := make([]byte, len(magic))
	d.fill(head)
	if d.err != nil {
		return nil, fmt.Errorf("read model header: %w", d.err)
	}
	if string(head) != magic {
		return nil, fmt.Errorf("%w: bad magic bytes %q", ErrBadModel, head)
	}
	d.fill(d.buf[:2])
	version := binary.LittleEndian.Uint16(d.buf[:2])
	if d.err == nil && (version < minFormatVersion || version > formatVersion) {
		return nil, fmt.Errorf("%w: format version %d, this build reads versions %d to %d", ErrBadModel, version, minFormatVersion, formatVersion)
	}
	m := &Model{}
	nl := d.count("labels", maxLabels)
	for i := 0; i < nl && d.err == nil; i++ {
		m.labels = append(m.labels, d.str())
	}
	m.oos = int(int32(d.u32()))
	m.fc.CharMin = int(d.u8())
	m.fc.CharMax = int(d.u8())
	m.fc.CJKMax = int(d.u8())
	m.fc.WordBigrams = d.u8() != 0
	vz := &vectorizer{}
	for b := range vz.blockWeight {
		vz.blockWeight[b] = d.f32()
	}
	vz.unknownInNorm = d.u8() != 0
	m.temperature = d.f64()
	m.threshold = d.f64()
	if d.u8() != 0 {
		det := &detector{}
		for _, v := range [][]float64{det.mean[:], det.scale[:], det.w[:]} {
			for i := range v {
				v[i] = d.f64()
			}
		}
		det.b = d.f64()
		m.det = det
	}
	m.cv.Folds = int(d.u32())
	m.cv.InScopeN = int(d.u32())
	m.cv.Accuracy = d.f64()
	m.cv.InScopeAccuracy = d.f64()
	m.cv.OOSN = int(d.u32())
	m.cv.OOSRecall = d.f64()
	nf := d.count("features", maxFeatures)
	if d.err == nil && int64(nf)*int64(nl) > maxWeights {
		d.err = fmt.Errorf("%w: %d features x %d labels is too large", ErrBadModel, nf, nl)
	}
	keys := make([]uint64, 0, min(nf, 1<<16))
	for i := 0; i < nf && d.err == nil; i++ {
		keys = append(keys, d.u64())
	}
	idf := d.f32s(nf)
	unknownIDF := d.f32()
	weights := d.f32s(nf * nl)
	bias := d.f32s(nl)
	if version >= 2 && d.u8() != 0 {
		m.blend = d.f64()
		hd := d.count("hidden units", maxHidden)
		if d.err == nil && int64(nf)*int64(hd) > maxWeights {
			d.err = fmt.Errorf("%w: %d features x %d hidden units is too large", ErrBadModel, nf, hd)
		}
		if d.err == nil && hd == 0 {
			d.err = fmt.Errorf("%w: network without hidden units", ErrBadModel)
		}
		net := &mlp{in: nf, hidden: hd, k: nl}
		net.w1 = d.f32s(nf * hd)
		net.b1 = d.f32s(hd)
		net.w2 = d.f32s(hd * nl)
		net.b2 = d.f32s(nl)
		m.net = net
	}
	if d.err != nil {
		return nil, fmt.Errorf("read model: %w", d.err)
	}
	sum := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated checksum", ErrBadModel)
	}
	if binary.LittleEndian.Uint32(tail[:]) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrBadModel)
	}
	if err := m.check(keys); err != nil {
		return nil, err
	}
	vz.voc = newVocab(keys, idf, unknownIDF)
	m.vz = vz
	m.lin = &linear{k: nl, weights: weights, bias: bias}
	if err := m.seal(); err != nil {
		return nil, err
	}
	return m, nil
}

// check validates the decoded settings a checksum cannot vouch for.
func (m *Model) check(keys []uint64) error {
	switch {
	case len(m.labels) < 2:
		return fmt.Errorf("%w: %d labels", ErrBadModel, len(m.labels))
	case m.oos < -1 || m.oos >= len(m.labels):
		return fmt.Errorf("%w: out-of-scope class %d of %d", ErrBadModel, m.oos, len(m.labels))
	case m.fc.CharMax > 12 || m.fc.CharMin > m.fc.CharMax || m.fc.CJKMax > 8:
		return fmt.Errorf("%w: n-gram settings %d-%d/%d", ErrBadModel, m.fc.CharMin, m.fc.CharMax, m.fc.CJKMax)
	case !(m.temperature > 0) || math.IsInf(m.temperature, 1) || !(m.threshold >= 0 && m.threshold <= 1):
		return fmt.Errorf("%w: calibration %g/%g", ErrBadModel, m.temperature, m.threshold)
	case m.net != nil && !(m.blend > 0 && m.blend < 1e6):
		return fmt.Errorf("%w: network weight %g", ErrBadModel, m.blend)
	}
	if m.det != nil {
		for i := range m.det.scale {
			if !(m.det.scale[i] > 0) {
				return fmt.Errorf("%w: detector scale %g", ErrBadModel, m.det.scale[i])
			}
		}
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			return fmt.Errorf("%w: dictionary out of order", ErrBadModel)
		}
	}
	return nil
}
