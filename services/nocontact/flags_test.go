package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/nocontact/nocontact/services/defects"
	"github.com/nocontact/nocontact/services/faq/retrieval"
)

func TestFlagsReadTheEnvironmentUnlessExcepted(t *testing.T) {
	t.Setenv("NOCONTACT_DATA", "/var/lib/nocontact")
	t.Setenv("NOCONTACT_NATS_LISTEN", "127.0.0.1:4222")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "./data", "")
	listen := fs.String("nats-listen", "", "")
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if *data != "/var/lib/nocontact" || *listen != "127.0.0.1:4222" {
		t.Errorf("env defaults not applied: data=%q listen=%q", *data, *listen)
	}
	fs = flag.NewFlagSet("train", flag.ContinueOnError)
	file := fs.String("data", "", "")
	if err := parseExcept(fs, []string{}, "data"); err != nil {
		t.Fatal(err)
	}
	if *file != "" {
		t.Errorf("train --data took NOCONTACT_DATA: %q", *file)
	}
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("data", "./data", "")
	if err := parse(fs, []string{"--data", "/tmp/d"}); err != nil || fs.Lookup("data").Value.String() != "/tmp/d" {
		t.Errorf("a flag given on the command line must win over the environment: %v %s", err, fs.Lookup("data").Value)
	}
}

func TestFAQFirstStageFlagDefaultsToBleveAndRejectsUnknownStages(t *testing.T) {
	parseServe := func(args ...string) (serveConfig, error) {
		var cfg serveConfig
		fs := newFlagSet("serve", io.Discard)
		cfg.register(fs)
		return cfg, parse(fs, args)
	}
	cfg, err := parseServe()
	if err != nil || cfg.FAQFirstStage != retrieval.FirstStageBleve {
		t.Errorf("default first stage %q (%v), want bleve", cfg.FAQFirstStage, err)
	}
	for _, stage := range []string{"bleve", "memory", "none"} {
		if cfg, err := parseServe("--faq-first-stage", stage); err != nil || string(cfg.FAQFirstStage) != stage {
			t.Errorf("--faq-first-stage %s: %q, %v", stage, cfg.FAQFirstStage, err)
		}
	}
	_, err = parseServe("--faq-first-stage", "elastic")
	if err == nil || !strings.Contains(err.Error(), "faq-first-stage") || !strings.Contains(err.Error(), `"elastic"`) {
		t.Errorf("--faq-first-stage elastic: %v, want an error naming the flag and the value", err)
	}
	t.Setenv("NOCONTACT_FAQ_FIRST_STAGE", "memory")
	if cfg, err := parseServe(); err != nil || cfg.FAQFirstStage != retrieval.FirstStageMemory {
		t.Errorf("NOCONTACT_FAQ_FIRST_STAGE=memory: %q, %v", cfg.FAQFirstStage, err)
	}
	t.Setenv("NOCONTACT_FAQ_FIRST_STAGE", "lucene")
	if _, err := parseServe(); err == nil || !strings.Contains(err.Error(), "NOCONTACT_FAQ_FIRST_STAGE") {
		t.Errorf("NOCONTACT_FAQ_FIRST_STAGE=lucene: %v, want an error naming the variable", err)
	}
}

// TestDefectSensitivityFlag: --defect-sensitivity scales the detector's
// significances; a value out of range is refused with the flag named.
func TestDefectSensitivityFlag(t *testing.T) {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.register(fs)
	if err := parse(fs, []string{"--defect-sensitivity", "10"}); err != nil {
		t.Fatal(err)
	}
	dc := detectorConfig(cfg)
	if dc.Alpha < 0.99*10*defects.DefaultAlpha || dc.Alpha > 1.01*10*defects.DefaultAlpha || dc.AndonPerHour != 10 {
		t.Errorf("sensitivity 10: alpha %g, andon %d", dc.Alpha, dc.AndonPerHour)
	}
	var def serveConfig
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def.register(fs)
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if dc := detectorConfig(def); dc.Alpha != 0 || dc.UnusualAlpha != 0 {
		t.Errorf("default sensitivity changed the detector's defaults: %+v", dc)
	}
	for _, v := range []string{"5000", "0", "lots"} {
		var bad serveConfig
		fs = flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		bad.register(fs)
		err := parse(fs, []string{"--defect-sensitivity", v})
		if err == nil || !strings.Contains(err.Error(), "defect-sensitivity") {
			t.Errorf("--defect-sensitivity %s: %v, want an error naming the flag", v, err)
		}
	}
}
