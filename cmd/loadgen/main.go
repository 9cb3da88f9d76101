// Command loadgen puts a load of orders on a running gateway and reports
// throughput, errors by kind and latency percentiles (see the README's
// performance section, and `loadgen -h`). Every flag has a LOADGEN_*
// environment variable; a flag wins.
//
//	go tool task load -- -model open -rate 2000 -duration 30s -skus 16 -stock 1000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/cmd/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		stop()
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// run parses the environment and args, runs the load, and writes the report
// to stdout (text, or JSON with -json) and progress lines to stderr. An
// interrupt ends the run early and still reports what was measured.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := load.ConfigFromEnv()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	fs.Usage = func() {
		_, _ = fmt.Fprintln(stderr, "usage: loadgen [flags]   (every flag also as LOADGEN_<NAME>; a flag wins)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v (flags only; see -h)", fs.Args())
	}
	if cfg.NullServer != "" {
		return serveNull(ctx, cfg.NullServer, stderr)
	}
	res, err := load.Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return res.WriteJSON(stdout)
	}
	return res.WriteText(stdout)
}

// serveNull serves load.NullServer on addr until ctx is done.
func serveNull(ctx context.Context, addr string, stderr io.Writer) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("null server: %w", err)
	}
	srv := &http.Server{Handler: load.NullServer(), ReadHeaderTimeout: 5 * time.Second}
	_, _ = fmt.Fprintf(stderr, "loadgen: do-nothing reference server on http://%s (stop with Ctrl-C)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("null server: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
