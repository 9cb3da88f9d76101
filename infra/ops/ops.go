// Package ops serves a process's operational endpoints on their own port:
// /healthz (the process is up), /readyz (its broker, its store and its routers
// answer) and /metrics (Prometheus: Watermill's router metrics, plus HTTP
// metrics on the gateway).
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness check; it returns nil when its dependency answers.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Ops holds a process's metrics registry and readiness checks.
type Ops struct {
	Registry *prometheus.Registry
	checks   []Check
	builder  metrics.PrometheusMetricsBuilder
}

// New returns an Ops with Go runtime and process metrics registered.
func New(namespace string) *Ops {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Ops{Registry: reg, builder: metrics.NewPrometheusMetricsBuilder(reg, namespace, "")}
}

// AddRouter adds Watermill's metrics to the router (handler execution time,
// messages published and received) and a readiness check that it runs.
func (o *Ops) AddRouter(name string, r *message.Router) {
	o.builder.AddPrometheusRouterMetrics(r)
	o.AddCheck(Check{Name: name + " router", Check: func(context.Context) error {
		if !r.IsRunning() {
			return errors.New("not running")
		}
		return nil
	}})
}

// AddCheck adds a readiness check.
func (o *Ops) AddCheck(c Check) { o.checks = append(o.checks, c) }

// Ready runs every check and returns the first failures, joined.
func (o *Ops) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var errs []error
	for _, c := range o.checks {
		if err := c.Check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Handler serves /healthz, /readyz and /metrics.
func (o *Ops) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := o.Ready(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{Registry: o.Registry}))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// InstrumentHTTP wraps the gateway's API with request count and latency
// metrics, labelled by route template (not raw path, which would explode the
// label space with order ids), method and status code.
func (o *Ops) InstrumentHTTP(h http.Handler, route func(*http.Request) string) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests served by the gateway.",
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Latency of HTTP requests served by the gateway.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"route", "method"})
	o.Registry.MustRegister(requests, duration)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		rt := route(r)
		requests.WithLabelValues(rt, r.Method, strconv.Itoa(rec.status)).Inc()
		duration.WithLabelValues(rt, r.Method).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
