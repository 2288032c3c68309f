// Package obs sets up logging and metrics once, in main: a zerolog logger
// (JSON, or a human console on a terminal) and a Prometheus registry with
// the Go and process collectors.
package obs

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

// LogConfig chooses the log level and format.
type LogConfig struct {
	// Level is trace, debug, info, warn or error (default info).
	Level string
	// Format is json, console or auto (console on a terminal, default).
	Format string
}

// NewLogger returns a logger writing to w as the config says.
func NewLogger(cfg LogConfig, w io.Writer) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if cfg.Level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(cfg.Level))
		if err != nil || l == zerolog.NoLevel {
			return zerolog.Nop(), fmt.Errorf("log level %q: want trace, debug, info, warn or error", cfg.Level)
		}
		lvl = l
	}
	out := w
	switch cfg.Format {
	case "", "auto":
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
		}
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want json, console or auto", cfg.Format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
