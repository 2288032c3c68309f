package classify

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nocontact/nocontact/pkg/testutil"
)

// BenchmarkPredict measures single-goroutine predictions with a model of
// the Banking77 size (77 reasons, 10k training texts), trained once.
// Run: go test -run '^$' -bench Predict -cpu 1 ./pkg/classify/
func BenchmarkPredict(b *testing.B) {
	path := filepath.Join(testutil.SharedDir(b), "data", "intents", "banking77", "train.csv")
	ex, err := ReadExamples(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Train(context.Background(), ex, Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		m.Predict(ex[i%len(ex)].Text)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "predictions/s")
}
