package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/bson"
)

// Config configures a [Server].
type Config struct {
	// Addr is the public (front) address; it must be a loopback address. Port 0 picks a free one.
	Addr string
	// DataDir holds the SQLite files; created if missing. Empty: a temp dir removed by Close.
	DataDir string
	// Logger for the front; FerretDB gets Logger.With("component", "ferretdb"). Nil: slog.Default().
	Logger *slog.Logger
	// FerretDBLogger overrides the logger given to FerretDB (it logs every connection at info).
	FerretDBLogger *slog.Logger
}

// Server is a running FerretDB behind the serialising front.
type Server struct {
	// URI is the driver connection string of the front, e.g. mongodb://127.0.0.1:27018/.
	URI string
	// BackendAddr is FerretDB's own listener: unserialised, for experiments only.
	BackendAddr string

	front     *front
	cancel    context.CancelFunc
	ferretErr chan error
	tempDir   string
	closeOnce sync.Once
	closeErr  error
}

// running enforces one instance per process: ferretdb.New writes a package global
// (version.Get().Package) without a lock, which -race flags when two instances start.
var running atomic.Bool

// Start starts FerretDB on an ephemeral loopback port and the front on cfg.Addr, and returns once
// a command sent through the front has been answered.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if !running.CompareAndSwap(false, true) {
		return nil, errors.New("mongotest: a server is already running in this process")
	}
	s := &Server{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := checkLoopback(cfg.Addr); err != nil {
		return nil, err
	}
	// Listen first: a busy port fails before any data is touched. Connections wait in the
	// backlog until the front starts accepting below.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if s.front == nil {
			ln.Close()
		}
	}()

	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "mongotest-"); err != nil {
			return nil, err
		}
		s.tempDir = dir
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	// FerretDB wants a file: URI naming an existing directory, with a trailing slash.
	// url.URL escapes spaces and such in the path.
	sqliteURL := (&url.URL{Scheme: "file", Path: dir + "/"}).String()

	flog := cfg.FerretDBLogger
	if flog == nil {
		flog = log.With("component", "ferretdb")
	}
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    flog,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return nil, fmt.Errorf("ferretdb.New: %w", err)
	}
	// Run's context is not ctx: ctx only bounds startup, Close stops the server.
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.ferretErr = make(chan error, 1)
	go func() { s.ferretErr <- fdb.Run(runCtx) }()

	u, err := url.Parse(fdb.MongoDBURI()) // blocks until FerretDB's listener exists
	if err != nil {
		return nil, err
	}
	s.BackendAddr = u.Host

	s.front = newFront(ln, s.BackendAddr, log)
	s.URI = "mongodb://" + ln.Addr().String() + "/"

	if err := ping(ctx, ln.Addr().String()); err != nil {
		return nil, fmt.Errorf("FerretDB does not answer through the front: %w", err)
	}
	log.Info("ready", "uri", s.URI, "ferretdb", s.BackendAddr, "data", dir)
	return s, nil
}

// Close stops the front, then FerretDB, and removes a temporary data dir. Safe to call twice.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.front != nil {
			s.front.close() // first: FerretDB's Run waits for its open connections
		}
		if s.cancel != nil {
			s.cancel()
			s.closeErr = <-s.ferretErr
		}
		if s.tempDir != "" {
			s.closeErr = errors.Join(s.closeErr, os.RemoveAll(s.tempDir))
		}
		running.Store(false)
	})
	return s.closeErr
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP address", addr)
	}
	return nil
}

// ping sends {ping: 1} as a raw OP_MSG to addr and checks for ok: 1.
func ping(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	doc, err := bson.Marshal(bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	if err != nil {
		return err
	}
	msg := make([]byte, headerLen+4+1, headerLen+4+1+len(doc)) // header, flagBits 0, section kind 0
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint32(msg[4:], 1) // requestID
	binary.LittleEndian.PutUint32(msg[12:], opMsg)
	if _, err := c.Write(msg); err != nil {
		return err
	}
	res, err := readMessage(bufio.NewReader(c))
	if err != nil {
		return err
	}
	if len(res) < headerLen+5 || res[headerLen+4] != 0 {
		return errors.New("unexpected ping reply layout")
	}
	body := bson.Raw(res[headerLen+5:])
	if ok, _ := body.Lookup("ok").AsInt64OK(); ok != 1 {
		return fmt.Errorf("ping failed: %s", body)
	}
	return nil
}
