package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/load"
)

// gateway is a fake of the gateway's API with scripted answers: each order is
// PENDING for pendingPolls GETs, then CONFIRMED (or REJECTED when its first
// SKU is in reject); post may override a POST's answer.
type gateway struct {
	pendingPolls int
	reject       map[string]bool
	post         func(n int64) (status int, delay time.Duration)

	mu       sync.Mutex
	keys     map[string]int
	auth     map[string]int
	bodies   []placeBody
	polls    map[string]int
	skuOf    map[string]string
	stock    map[string]string
	cancels  int
	posts    atomic.Int64
	getCount atomic.Int64
}

type placeBody struct {
	CustomerID string `json:"customer_id"`
	Items      []struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	} `json:"items"`
}

func newGateway() *gateway {
	return &gateway{reject: map[string]bool{}, keys: map[string]int{}, auth: map[string]int{}, polls: map[string]int{}, skuOf: map[string]string{}, stock: map[string]string{}}
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.auth[r.Header.Get("Authorization")]++
	g.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/orders":
		n := g.posts.Add(1)
		var b placeBody
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if g.post != nil {
			status, delay := g.post(n)
			if delay > 0 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(delay): // the simulated service time of a slow answer
				}
			}
			if status != http.StatusAccepted {
				w.WriteHeader(status)
				return
			}
		}
		id := "o-" + strconv.FormatInt(n, 10)
		g.mu.Lock()
		g.keys[r.Header.Get("Idempotency-Key")]++
		g.bodies = append(g.bodies, b)
		g.skuOf[id] = b.Items[0].SKU
		g.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"order_id":"` + id + `","status":"PENDING"}`))
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "orders":
		g.getCount.Add(1)
		g.mu.Lock()
		sku, ok := g.skuOf[parts[1]]
		g.polls[parts[1]]++
		n := g.polls[parts[1]]
		g.mu.Unlock()
		status := "CONFIRMED"
		switch {
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			return
		case n <= g.pendingPolls:
			status = "PENDING"
		case g.reject[sku]:
			status = "REJECTED"
		}
		_, _ = w.Write([]byte(`{"order_id":"` + parts[1] + `","status":"` + status + `","history":[]}`))
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "cancel":
		g.mu.Lock()
		g.cancels++
		g.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPut && len(parts) == 2 && parts[0] == "inventory":
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		g.mu.Lock()
		g.stock[parts[1]] = b.String()
		g.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func config(url string, change func(*load.Config)) load.Config {
	cfg := load.DefaultConfig()
	cfg.URL, cfg.Duration, cfg.Clients, cfg.Progress = url, 200*time.Millisecond, 4, 0
	cfg.PollInterval = 100 * time.Microsecond
	if change != nil {
		change(&cfg)
	}
	return cfg
}

func TestRun_closedModelPlacesAndFollowsEveryOrder(t *testing.T) {
	t.Parallel()
	g := newGateway()
	g.pendingPolls = 2
	g.reject["SKU-3"] = true
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	res, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) {
		c.SKUs, c.Items, c.Quantity, c.Customers, c.Token = "3", 2, 5, 3, "my-operator-token"
	}), nil)
	require.NoError(t, err)

	require.Positive(t, res.Placed)
	assert.Equal(t, res.Sent, res.Placed)
	assert.Equal(t, res.Placed, res.Confirmed+res.Rejected, "every order followed to its outcome")
	assert.Positive(t, res.Rejected, "orders starting with SKU-3 are rejected")
	assert.Empty(t, res.Errors)
	assert.Equal(t, res.Placed, res.Latency["post"].Count)
	assert.Equal(t, res.Confirmed, res.Latency["post_to_confirmed"].Count)
	assert.Equal(t, 3*res.Placed, res.Latency["get"].Count, "two PENDING polls and the final one")
	assert.Equal(t, g.getCount.Load(), res.Latency["get"].Count)
	assert.GreaterOrEqual(t, res.Latency["post_to_confirmed"].P50, res.Latency["post"].P50)
	assert.InDelta(t, float64(res.Placed)/res.ElapsedSeconds, res.PlacedPerSecond, 0.001)

	g.mu.Lock()
	defer g.mu.Unlock()
	assert.Equal(t, map[string]int{"Bearer my-operator-token": int(res.Requests)}, g.auth)
	for key, n := range g.keys {
		require.Equal(t, 1, n, "Idempotency-Key %s sent twice", key)
	}
	assert.Len(t, g.keys, int(res.Placed))
	customers := map[string]bool{}
	for _, b := range g.bodies {
		customers[b.CustomerID] = true
		require.Len(t, b.Items, 2)
		assert.NotEqual(t, b.Items[0].SKU, b.Items[1].SKU)
		for _, it := range b.Items {
			assert.Contains(t, []string{"SKU-1", "SKU-2", "SKU-3"}, it.SKU)
			assert.Equal(t, 5, it.Quantity)
		}
	}
	assert.Len(t, customers, 3)
}

// In the open model a request's latency counts from when it was due: a
// system that stalls cannot hide the requests queued behind the stall.
func TestRun_openModelMeasuresFromTheIntendedSendTime(t *testing.T) {
	t.Parallel()
	const stall = 150 * time.Millisecond
	g := newGateway()
	g.post = func(n int64) (int, time.Duration) {
		if n == 1 {
			return http.StatusAccepted, stall
		}
		return http.StatusAccepted, 0
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	res, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) {
		// One request at a time: while the first stalls, the next ones are due and wait.
		c.Model, c.Rate, c.MaxInFlight, c.Duration, c.Follow = load.ModelOpen, 100, 1, 400*time.Millisecond, false
	}), nil)
	require.NoError(t, err)

	assert.Equal(t, int64(40), res.Sent, "rate × duration, however slow the answers")
	assert.Equal(t, int64(40), res.Placed)
	post := res.Latency["post"]
	assert.GreaterOrEqual(t, post.Max, float64(stall.Milliseconds()))
	// Requests 2…15 were due during the stall: the second waited ~140 ms, the
	// fifteenth ~10 ms; measured from the actual send, each would be ~0.
	assert.GreaterOrEqual(t, post.P90, 50.0, "the requests queued behind the stall count their wait: %+v", post)
	assert.GreaterOrEqual(t, res.MaxSendLagMs, 100.0)
}

func TestRun_countsErrorsByKind(t *testing.T) {
	t.Parallel()
	g := newGateway()
	g.post = func(n int64) (int, time.Duration) {
		switch n % 10 {
		case 1:
			return http.StatusServiceUnavailable, 0
		case 2:
			return http.StatusTooManyRequests, 0
		case 3:
			return http.StatusAccepted, time.Hour // cut by the request timeout
		}
		return http.StatusAccepted, 0
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	res, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) {
		// The first three POSTs are a 503, a 429 and one that never answers;
		// the timeout is long enough that no other request reaches it on a busy machine.
		c.RequestTimeout, c.Duration = 2*time.Second, 300*time.Millisecond
	}), nil)
	require.NoError(t, err)

	assert.Positive(t, res.Errors["post_5xx"])
	assert.Positive(t, res.Errors["post_4xx"])
	assert.Positive(t, res.Errors["post_timeout"])
	assert.Equal(t, res.Errors["post_5xx"], res.Statuses["post_503"])
	assert.Equal(t, res.Errors["post_4xx"], res.Statuses["post_429"])
	postErrors := res.Errors["post_5xx"] + res.Errors["post_4xx"] + res.Errors["post_timeout"] + res.Errors["post_transport"]
	assert.Equal(t, res.Sent, res.Placed+postErrors, "%+v", res.Errors)
	var text bytes.Buffer
	require.NoError(t, res.WriteText(&text))
	assert.Contains(t, text.String(), "post_429=")
	assert.Contains(t, text.String(), "RATE_LIMIT_OPERATOR=off")
}

func TestRun_countsTransportErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now: every connection is refused

	res, err := load.Run(t.Context(), config(url, func(c *load.Config) { c.Duration = 50 * time.Millisecond }), nil)
	require.NoError(t, err)
	assert.Positive(t, res.Errors["post_transport"])
	assert.Equal(t, res.Sent, res.Errors["post_transport"])
	assert.Zero(t, res.Placed)
}

func TestRun_followTimesOutOnAnOrderThatStaysPending(t *testing.T) {
	t.Parallel()
	g := newGateway()
	g.pendingPolls = 1 << 30
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	res, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) {
		c.Clients, c.Duration, c.FollowTimeout, c.PollInterval = 2, 50*time.Millisecond, 20*time.Millisecond, time.Millisecond
	}), nil)
	require.NoError(t, err)
	require.Positive(t, res.Placed)
	assert.Equal(t, res.Placed, res.FollowTimeouts)
	assert.Equal(t, res.Placed, res.Errors["follow_timeout"])
	assert.Zero(t, res.Confirmed)
}

func TestRun_cancelsTheShareAskedFor(t *testing.T) {
	t.Parallel()
	g := newGateway()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	res, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) { c.CancelShare = 1 }), nil)
	require.NoError(t, err)
	require.Positive(t, res.Placed)
	assert.Equal(t, res.Placed, res.Cancelled)
	assert.Zero(t, res.Confirmed, "cancelled orders are not followed")
	assert.Equal(t, res.Cancelled, res.Latency["cancel"].Count)
	g.mu.Lock()
	assert.Equal(t, int(res.Cancelled), g.cancels)
	g.mu.Unlock()
}

func TestRun_setsStockFirst(t *testing.T) {
	t.Parallel()
	g := newGateway()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	_, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) { c.SKUs, c.Stock = "A-1, B-2", 500 }), nil)
	require.NoError(t, err)
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.Equal(t, map[string]string{"A-1": `{"on_hand":500}`, "B-2": `{"on_hand":500}`}, g.stock)
}

func TestRun_readsWorkload(t *testing.T) {
	t.Parallel()
	g := newGateway()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	res, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) { c.Workload, c.ReadOrders = load.WorkloadReads, 5 }), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(5), g.posts.Load(), "only the orders to read are placed")
	assert.Positive(t, res.Reads)
	assert.Equal(t, res.Reads, res.Latency["get"].Count)
	assert.Zero(t, res.Placed, "placing the orders to read is not part of the measure")
	assert.Empty(t, res.Errors)
}

func TestRun_progressLines(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newGateway())
	t.Cleanup(srv.Close)
	var progress syncBuffer
	_, err := load.Run(t.Context(), config(srv.URL, func(c *load.Config) { c.Progress, c.Duration = 20*time.Millisecond, 300*time.Millisecond }), &progress)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 3, progress.String())
	assert.Regexp(t, `^loadgen +[0-9.]+s  placed [0-9]+ \([0-9]+/s\)  confirmed [0-9]+ \([0-9]+/s\)`, lines[0])
}

func TestRun_stopsWhenCancelled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newGateway())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan *load.Result, 1)
	go func() {
		res, _ := load.Run(ctx, config(srv.URL, func(c *load.Config) { c.Duration = time.Hour }), nil)
		done <- res
	}()
	cancel()
	select {
	case res := <-done:
		require.NotNil(t, res)
		assert.Empty(t, res.Errors, "requests cut by the stop are not errors")
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop within 10 s of its context's cancel")
	}
}

func TestRun_againstTheNullServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(load.NullServer())
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name   string
		change func(*load.Config)
		check  func(*testing.T, *load.Result)
	}{
		{"orders", func(c *load.Config) { c.Stock, c.CancelShare = 10, 0.5 }, func(t *testing.T, r *load.Result) {
			assert.Equal(t, r.Placed, r.Confirmed+r.Cancelled)
		}},
		{"reads", func(c *load.Config) { c.Workload = load.WorkloadReads }, func(t *testing.T, r *load.Result) {
			assert.Positive(t, r.Reads)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := load.Run(t.Context(), config(srv.URL, tc.change), nil)
			require.NoError(t, err)
			assert.Empty(t, res.Errors)
			tc.check(t, res)
		})
	}
}

func TestRun_refusesABadConfiguration(t *testing.T) {
	t.Parallel()
	_, err := load.Run(t.Context(), config("http://127.0.0.1:1", func(c *load.Config) { c.Model = "sideways" }), nil)
	require.ErrorContains(t, err, "model must be closed or open")
}

func TestConfig_validate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*load.Config)
		want   string // empty: valid
	}{
		{"the defaults", func(*load.Config) {}, ""},
		{"open model", func(c *load.Config) { c.Model = load.ModelOpen }, ""},
		{"reads", func(c *load.Config) { c.Workload = load.WorkloadReads }, ""},
		{"a count of SKUs", func(c *load.Config) { c.SKUs, c.Items = "16", 16 }, ""},
		{"no scheme", func(c *load.Config) { c.URL = "localhost:8080" }, "url must start"},
		{"no clients", func(c *load.Config) { c.Clients = 0 }, "clients"},
		{"no rate", func(c *load.Config) { c.Model, c.Rate = load.ModelOpen, 0 }, "rate"},
		{"unknown workload", func(c *load.Config) { c.Workload = "writes" }, "workload"},
		{"no duration", func(c *load.Config) { c.Duration = 0 }, "duration"},
		{"more lines than SKUs", func(c *load.Config) { c.Items = 4 }, "items must be from 1 to the number of SKUs (3)"},
		{"zero SKUs", func(c *load.Config) { c.SKUs = "0" }, "a count must be"},
		{"empty SKUs", func(c *load.Config) { c.SKUs = " , " }, "at least one SKU"},
		{"cancel share over 1", func(c *load.Config) { c.CancelShare = 1.5 }, "cancel"},
		{"negative stock", func(c *load.Config) { c.Stock = -1 }, "stock"},
		{"no poll interval", func(c *load.Config) { c.PollInterval = 0 }, "poll"},
		{"no poll interval, not following", func(c *load.Config) { c.PollInterval, c.Follow = 0, false }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := load.DefaultConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestConfig_SKUList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, skus string
		want       []string
	}{
		{"a count", "3", []string{"SKU-1", "SKU-2", "SKU-3"}},
		{"a list", "A, B,,A", []string{"A", "B"}},
		{"one", "SKU-9", []string{"SKU-9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := load.Config{SKUs: tc.skus}.SKUList()
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Each flag defaults to its environment variable, and wins over it.
func TestConfig_flagsOverrideTheEnvironment(t *testing.T) {
	t.Setenv("LOADGEN_CLIENTS", "7")
	t.Setenv("LOADGEN_RATE", "250")
	t.Setenv("LOADGEN_TOKEN", "from-env")
	cfg, err := load.ConfigFromEnv()
	require.NoError(t, err)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"-rate", "500", "-model", "open"}))
	assert.Equal(t, 7, cfg.Clients)
	assert.Equal(t, 500.0, cfg.Rate)
	assert.Equal(t, "from-env", cfg.Token)
	assert.Equal(t, load.ModelOpen, cfg.Model)
	assert.Equal(t, "http://127.0.0.1:8080", cfg.URL)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
