package wiring_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/infra/ops"
)

// serve runs cfg's HTTP server (the one the API and the ops port get) on a
// loopback port with a handler that reads the whole body.
func serve(t *testing.T, cfg wiring.Config) string {
	t.Helper()
	srv := cfg.HTTPServer("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	ln, err := net.Listen("tcp", srv.Addr)
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// waitClosed reads from conn until the server closes it, failing if it has
// not within the deadline; it returns how long that took.
func waitClosed(t *testing.T, conn net.Conn, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(start.Add(within)))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the connection after %s", within)
	}
	return time.Since(start)
}

func TestServerClosesIdleKeepAliveConnections(t *testing.T) {
	t.Parallel()
	addr := serve(t, wiring.Config{Process: wiring.ProcessConfig{HTTPIdleTimeout: 100 * time.Millisecond}})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.False(t, res.Close, "a keep-alive connection")

	waitClosed(t, conn, 5*time.Second)
}

func TestServerCutsSlowBodies(t *testing.T) {
	t.Parallel()
	addr := serve(t, wiring.Config{Process: wiring.ProcessConfig{HTTPReadTimeout: 200 * time.Millisecond}})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	// One byte of a promised hundred, then nothing: a client trickling its body.
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)

	waitClosed(t, conn, 5*time.Second)
}

func TestServerCutsSlowHeaders(t *testing.T) {
	t.Parallel()
	addr := serve(t, wiring.Config{Process: wiring.ProcessConfig{HTTPReadHeaderTimeout: 200 * time.Millisecond}})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	require.NoError(t, err)

	waitClosed(t, conn, 5*time.Second)
}

func TestServerRefusesHugeHeaders(t *testing.T) {
	t.Parallel()
	addr := serve(t, wiring.Config{})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 100<<10))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)
}

func TestServerDefaults(t *testing.T) {
	t.Parallel()
	srv := wiring.Config{Gateway: wiring.GatewayConfig{RequestTimeout: 30 * time.Second}}.HTTPServer(":0", http.NotFoundHandler())
	assert.Positive(t, srv.ReadHeaderTimeout)
	assert.Positive(t, srv.ReadTimeout)
	assert.Positive(t, srv.IdleTimeout)
	assert.Greater(t, srv.WriteTimeout, 30*time.Second, "above REQUEST_TIMEOUT")
	assert.LessOrEqual(t, srv.MaxHeaderBytes, 64<<10)

	cfg, err := wiring.LoadConfig()
	require.NoError(t, err)
	valid := cfg
	valid.Gateway.RequestTimeout = 5 * time.Second
	require.NoError(t, valid.Validate())
	slowWrites := valid
	slowWrites.Process.HTTPWriteTimeout = 5 * time.Second
	assert.Error(t, slowWrites.Validate(), "a write timeout not above REQUEST_TIMEOUT is refused")
	bigHeaders := valid
	bigHeaders.Process.HTTPMaxHeaderBytes = 1 << 20
	assert.Error(t, bigHeaders.Validate(), "headers of a MiB are refused")
	assert.Equal(t, 16<<10, cfg.Process.HTTPMaxHeaderBytes)
}

func TestOpsEndpointsAnswerHead(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ops.New("test").Handler())
	t.Cleanup(srv.Close)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+path, nil)
		require.NoError(t, err)
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
	}
}

// Healthcheck asks the /readyz of OPS_ADDR's port on this host, as a
// container's health check does.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	// The host of OPS_ADDR does not matter: a container listens on :9100.
	cfg := wiring.ProcessConfig{OpsAddr: ":" + port}

	require.ErrorContains(t, wiring.Healthcheck(t.Context(), cfg), "not ready: 503")
	ready.Store(true)
	require.NoError(t, wiring.Healthcheck(t.Context(), cfg))
	require.ErrorContains(t, wiring.Healthcheck(t.Context(), wiring.ProcessConfig{OpsAddr: "no port"}), "OPS_ADDR")
}
