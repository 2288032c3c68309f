package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/nocontact/nocontact/services/faq/retrieval"
)

// newFlagSet returns a flag set whose flags default to their NOCONTACT_*
// environment variables: --nats-listen reads NOCONTACT_NATS_LISTEN.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("nocontact "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "NOCONTACT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse applies environment defaults for every flag not given on the
// command line, then parses args.
func parse(fs *flag.FlagSet, args []string) error { return parseExcept(fs, args) }

// parseExcept is parse for a command some of whose flags must not read the
// environment, because their NOCONTACT_* name means something else to
// other commands (train's --data is a training file; NOCONTACT_DATA is
// serve's data directory).
func parseExcept(fs *flag.FlagSet, args []string, noEnv ...string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil || slices.Contains(noEnv, f.Name) {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// clientFlags are the flags of every subcommand that talks to a server.
type clientFlags struct {
	url   string
	token string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "`URL` of a running nocontact server")
	fs.StringVar(&c.token, "token", "", "API bearer `token`")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// firstStageVar defines a flag naming a help-centre first stage (bleve,
// the default, also when empty; memory; none); an unknown name is an
// error that names the flag (or its environment variable).
func firstStageVar(fs *flag.FlagSet, p *retrieval.FirstStage, name, usage string) {
	*p = retrieval.FirstStageBleve
	fs.Var(firstStageValue{p}, name, usage)
}

type firstStageValue struct{ p *retrieval.FirstStage }

func (v firstStageValue) String() string {
	if v.p == nil {
		return ""
	}
	return string(*v.p)
}

func (v firstStageValue) Set(s string) error {
	f := retrieval.FirstStage(strings.ToLower(strings.TrimSpace(s))).OrDefault()
	if !f.Valid() {
		names := make([]string, len(retrieval.FirstStages))
		for i, n := range retrieval.FirstStages {
			names[i] = string(n)
		}
		return fmt.Errorf("unknown first stage %q: want %s", s, strings.Join(names, ", "))
	}
	*v.p = f
	return nil
}
