// Command mongotest is a MongoDB-wire-protocol server for tests: embedded FerretDB v1 with its
// SQLite backend, behind a small in-process TCP front that lets only one command run at a time.
//
// No real mongod can be installed on the development machines, and FerretDB alone is not enough:
// it applies updates as an unlocked read-then-write, so concurrent conditional updates are not
// atomic. Serialising every command restores mongod's single-document atomicity (see front.go).
// Production stays on real MongoDB.
//
// When ready, it prints exactly one line to stdout:
//
//	MONGODB_URI=mongodb://127.0.0.1:PORT/
//
// Everything else goes to stderr. It stops on SIGINT or SIGTERM.
//
// Usage:
//
//	mongotest [-addr 127.0.0.1:27018] [-data DIR] [-log-level info]
//
// Tests in Go can run the same server in-process through [Start].
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("mongotest failed", "err", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr := flag.String("addr", "127.0.0.1:27018", "listen address of the front (loopback only)")
	data := flag.String("data", "", "data directory for SQLite, created if missing (default: a temp dir removed on exit)")
	level := flag.String("log-level", "info", "log level: debug, info, warn, error")
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)

	// FerretDB logs every connection at info and every error reply (including the driver's
	// endSessions, which it lacks) at warn: show only its errors unless debugging.
	ferretLvl := max(lvl, slog.LevelError)
	if lvl <= slog.LevelDebug {
		ferretLvl = lvl
	}
	flog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: ferretLvl})).
		With("component", "ferretdb")

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := Start(startCtx, Config{Addr: *addr, DataDir: *data, Logger: log, FerretDBLogger: flog})
	if err != nil {
		return err
	}
	defer srv.Close()

	// os.Stdout is unbuffered: the line is out (flushed) when Fprintln returns.
	if _, err := fmt.Fprintln(os.Stdout, "MONGODB_URI="+srv.URI); err != nil {
		return err
	}

	<-ctx.Done()
	log.Info("stopping")
	if err := srv.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
