package mongo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
)

const (
	// connectTimeout bounds one TCP/TLS connection attempt.
	connectTimeout = 5 * time.Second
	// serverSelectionTimeout bounds how long an operation waits for a usable
	// server. It is also how long Connect waits for the first answer, so a
	// wrong URI or a server that is down stops the process at start within it.
	serverSelectionTimeout = 10 * time.Second
)

// Connect connects to MongoDB and waits (up to 10 s) until the server answers,
// so that a wrong URI or a server that is down is reported at start rather
// than by the first message handled. Options in the URI win over these defaults.
// The monitors, if any, see every command the client sends (CountCommands).
func Connect(ctx context.Context, uri string, monitors ...*event.CommandMonitor) (*mongo.Client, error) {
	opts := options.Client().
		SetAppName("orderflow").
		SetConnectTimeout(connectTimeout).
		SetServerSelectionTimeout(serverSelectionTimeout).
		ApplyURI(uri)
	if m := chainMonitors(monitors); m != nil {
		opts.SetMonitor(m)
	}
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB at %s: %w", RedactURI(uri), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, serverSelectionTimeout)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		disconnectCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
		defer cancel()
		_ = client.Disconnect(disconnectCtx) // the ping's error is the one that matters
		return nil, fmt.Errorf("MongoDB at %s does not answer (waited up to %s): %w", RedactURI(uri), serverSelectionTimeout, err)
	}
	return client, nil
}

// RedactURI returns a connection string fit for logs and errors: without the
// user and password, and without the options, which may carry secrets too
// (e.g. tlsCertificateKeyFilePassword).
func RedactURI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "(not a mongodb:// URI)"
	}
	rest, _, _ = strings.Cut(rest, "?")
	// The credentials end at the last '@': one in a password must be
	// percent-encoded, and cutting too much only ever hides more.
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme + "://" + rest
}
