// Command nocontact is the whole system in one binary: `nocontact serve`
// runs every service with an embedded NATS JetStream; the other
// subcommands talk to a running server or work offline.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the services (all, or --only some) with one HTTP listener", runServe},
		{"token", "create, list or revoke API tokens on a running server", runToken},
		{"bench", "measure throughput (bench ingest)", runBench},
		{"defects", "list process defects; evaluate them against a demo's ground truth", runDefects},
		{"report", "print a CPX, Pareto, matrix, cost or repeat report of a running server", runReport},
		{"demo", "generate a realistic shop history with planted defects and send it", runDemo},
		{"import", "import contacts, orders (CSV, JSONL, JSON) or articles (Markdown, JSONL)", runImport},
		{"faq", "evaluate help-centre search offline (faq eval)", runFAQ},
		{"train", "train the reason classifier from labelled texts and write the model file", runTrain},
		{"eval", "train the reason classifier and score it on test texts or by cross-validation", runEval},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "nocontact:", err)
		}
		os.Exit(exitCode(err))
	}
}

var errUsage = errors.New("usage")

func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "nocontact: the best service is no service.\n\nUsage: nocontact <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'nocontact <command> -h' for a command's flags. Every flag has a NOCONTACT_* environment equivalent.")
}
