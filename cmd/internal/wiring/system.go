package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// RunOptions are the optional parts of Run.
type RunOptions struct {
	// HTTPServer serves the gateway's API (nil: no HTTP).
	HTTPServer *http.Server
	// Drain waits until every message in flight is handled (the transport's
	// PubSub.Drain; nil for a broker, which redelivers what was not acked).
	Drain func(ctx context.Context) error
	// ShutdownTimeout bounds the drain (default 30s).
	ShutdownTimeout time.Duration
	// Started is called once every router runs and the server listens.
	Started func()
}

// Run runs the services until ctx is done or one of them fails, then stops
// them in an order that loses nothing: the HTTP server stops taking requests
// and finishes those in flight, the background loops (the courier) end, the
// transport is drained of messages in flight, and only then do the routers
// close, each waiting for its in-flight handlers.
func Run(ctx context.Context, services []*Service, logger *slog.Logger, opts RunOptions) error {
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	// Routers outlive ctx: they are closed last, by the shutdown sequence.
	routerCtx, closeRouters := context.WithCancel(context.WithoutCancel(ctx))
	defer closeRouters()
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range services {
		g.Go(func() error {
			if err := s.Router.Run(routerCtx); err != nil {
				return fmt.Errorf("%s router: %w", s.Name, err)
			}
			return nil
		})
	}
	// The background loops start once every router runs: what they publish
	// (the relays, the stock levels, the courier) then finds every
	// subscription in place, which a transport that keeps nothing (GoChannel)
	// needs not to drop it.
	routersRunning := make(chan struct{})
	var background sync.WaitGroup
	for _, s := range services {
		for _, bg := range s.Background {
			background.Add(1)
			g.Go(func() error {
				defer background.Done()
				select {
				case <-routersRunning:
				case <-gctx.Done():
					return nil
				}
				return bg(gctx)
			})
		}
	}

	g.Go(func() error {
		<-gctx.Done()
		if opts.HTTPServer != nil {
			// Shutdown before Serve makes Serve return at once, so no race with the listener below.
			shutdownCtx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
			if err := opts.HTTPServer.Shutdown(shutdownCtx); err != nil {
				logger.Warn("http server did not stop cleanly", "error", err)
			}
			cancel()
		}
		background.Wait()
		if opts.Drain != nil {
			drainCtx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
			if err := opts.Drain(drainCtx); err != nil {
				logger.Warn("stopping with messages still in flight", "error", err)
			}
			cancel()
		}
		closeRouters()
		return nil
	})

	for _, s := range services {
		select {
		case <-s.Router.Running():
		case <-gctx.Done():
			return g.Wait()
		}
	}
	close(routersRunning)
	if opts.HTTPServer != nil {
		// A plain net.Listen: a context here would only make a shutdown that has
		// already begun fail the start instead of ending it cleanly.
		ln, err := net.Listen("tcp", opts.HTTPServer.Addr) //nolint:noctx // see above
		if err != nil {
			closeRouters()
			return errors.Join(fmt.Errorf("listen on %s: %w", opts.HTTPServer.Addr, err), g.Wait())
		}
		logger.Info("gateway listening", "addr", ln.Addr().String())
		g.Go(func() error {
			if err := opts.HTTPServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http server: %w", err)
			}
			return nil
		})
	}
	if opts.Started != nil {
		opts.Started()
	}
	return g.Wait()
}
