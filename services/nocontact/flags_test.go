package main

import (
	"flag"
	"io"
	"testing"
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
