package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
)

// Run runs the services until ctx is done, then stops them: the HTTP server
// stops taking requests, every router drains its in-flight handlers (bounded by
// ShutdownTimeout) and the background loops end. httpServer may be nil.
// started, if not nil, is called once every router runs and the server listens.
func Run(ctx context.Context, services []*Service, httpServer *http.Server, logger *slog.Logger, started func()) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range services {
		g.Go(func() error {
			if err := s.Router.Run(gctx); err != nil {
				return fmt.Errorf("%s router: %w", s.Name, err)
			}
			return nil
		})
		for _, bg := range s.Background {
			g.Go(func() error { return bg(gctx) })
		}
	}
	for _, s := range services {
		select {
		case <-s.Router.Running():
		case <-gctx.Done():
			return g.Wait()
		}
	}
	if httpServer != nil {
		ln, err := net.Listen("tcp", httpServer.Addr)
		if err != nil {
			cancelAndWait(g, services)
			return fmt.Errorf("listen on %s: %w", httpServer.Addr, err)
		}
		logger.Info("gateway listening", "addr", ln.Addr().String())
		g.Go(func() error {
			if err := httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http server: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 10*time.Second)
			defer cancel()
			return httpServer.Shutdown(shutdownCtx)
		})
	}
	if started != nil {
		started()
	}
	return g.Wait()
}

func cancelAndWait(g *errgroup.Group, services []*Service) {
	for _, s := range services {
		_ = s.Router.Close()
	}
	_ = g.Wait()
}
