//go:build integration

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"
	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

// The binary, stopped with SIGTERM mid-saga and started again on the same
// MongoDB databases, keeps every order and stock level with its history and
// finishes what was in flight.
func TestRestartKeepsOrdersAndStockAndFinishesTheSaga(t *testing.T) {
	t.Parallel()
	uri := os.Getenv("MONGODB_URI")
	if uri == "" {
		t.Fatal("MONGODB_URI is not set: run `go tool task test:integration`, which starts a test server")
	}
	bin := buildBinary(t)
	prefix := fmt.Sprintf("restart_%d_", time.Now().UnixNano())
	ordersRepo := ordersOf(t, uri, prefix)
	env := []string{
		"MONGODB_URI=" + uri, "MONGODB_DATABASE_PREFIX=" + prefix, "REQUEST_TIMEOUT=30s",
		"COURIER=auto", "COURIER_DISPATCH_AFTER=1s", "COURIER_DELIVER_AFTER=1s",
		"SEED_DEMO=false", "SHUTDOWN_TIMEOUT=10s",
	}

	first := startProcess(t, bin, env, "first")
	first.put(t, "/inventory/SKU-R", map[string]int{"on_hand": 10})
	delivered := first.placeOrder(t, "c-1", "SKU-R", 2)
	deliveredBefore := first.waitOrder(t, delivered, "DELIVERED")
	inFlight := first.placeOrder(t, "c-2", "SKU-R", 3)
	inFlightBefore := first.waitOrder(t, inFlight, "CONFIRMED", "SHIPPED")
	stockBefore := first.get(t, "/inventory/SKU-R")
	// Stopped at once: the courier was to dispatch a second after the
	// confirmation and deliver a second after that.
	first.stop(t)

	stored, err := ordersRepo.Get(t.Context(), inFlight)
	require.NoError(t, err)
	require.Contains(t, []orders.Status{orders.StatusConfirmed, orders.StatusShipped}, stored.Status,
		"the order was to be stopped mid-flow, not %s", stored.Status)
	t.Logf("stopped with order %s %s", inFlight, stored.Status)
	for _, c := range stored.History {
		assert.True(t, c.Published, "order %s stopped with the event of %s unpublished", inFlight, c.Status)
	}

	second := startProcess(t, bin, env, "second")
	assert.Equal(t, deliveredBefore, second.order(t, delivered), "the delivered order, with its full history")
	inFlightAfter := second.waitOrder(t, inFlight, "DELIVERED")
	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses(inFlightAfter))
	assert.Equal(t, inFlightBefore.History, inFlightAfter.History[:len(inFlightBefore.History)], "the history before the restart is kept")
	require.Eventually(t, func() bool {
		return second.get(t, "/inventory/SKU-R") == `{"sku":"SKU-R","on_hand":5,"reserved":0,"available":5}`
	}, 20*time.Second, 20*time.Millisecond, "stock is committed once for each delivered order (before the restart: %s)", stockBefore)
	assert.ElementsMatch(t, []string{delivered, inFlight}, second.listOrderIDs(t))
	second.stop(t)
}

// buildBinary builds cmd/orderflow (this directory) into a temp dir.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "orderflow")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// ordersOf reads the orders database of the binary directly, to see its state
// while it is stopped; it drops the binary's databases after the test.
func ordersOf(t *testing.T, uri, prefix string) orders.Repository {
	t.Helper()
	client := mongoFor(t, uri, prefix)
	return mongostore.NewOrderRepository(client.Database(wiring.MongoDatabaseNames(prefix).Orders))
}

// mongoFor connects to MongoDB and drops the databases of MONGODB_DATABASE_PREFIX
// prefix after the test (and after the processes started later are killed).
func mongoFor(t *testing.T, uri, prefix string) *mongo.Client {
	t.Helper()
	client, err := mongostore.Connect(t.Context(), uri)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, db := range wiring.MongoDatabaseNames(prefix).All() {
			if err := client.Database(db).Drop(ctx); err != nil {
				// Housekeeping only: the name is unique to this test and the test server is
				// wiped with its state dir; a saturated server must not fail a test that passed.
				t.Logf("drop database %s: %v (left behind)", db, err)
			}
		}
		_ = client.Disconnect(ctx)
	})
	return client
}

// process is a running orderflow binary.
type process struct {
	name   string
	url    string // the HTTP API (HTTP_ADDR); empty for a service process without one
	opsURL string // /healthz, /readyz and /metrics (OPS_ADDR)
	bin    string
	args   []string
	env    []string   // on top of the test's environment; kept for restart
	owner  *testing.T // the test that launched it: it kills every run of it when it ends
	runs   int        // how many times the binary was started
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited and been waited for
	client *http.Client
}

// startProcess starts the binary in its embedded mode (all four services in
// one process on GoChannel) and waits until it is ready.
func startProcess(t *testing.T, bin string, env []string, name string) *process {
	t.Helper()
	// The last value of a key wins, so ours override the caller's environment;
	// an empty KAFKA_BROKERS keeps the embedded mode (GoChannel, one process).
	p := launch(t, bin, name, nil, append(slices.Clone(env), "HTTP_ADDR="+freeAddr(t), "KAFKA_BROKERS="))
	p.waitReady(t, 30*time.Second)
	return p
}

// launch starts the binary with args, and env on top of the test's
// environment, without waiting for it to be ready. It gets an OPS_ADDR of its
// own unless env names one; it serves the API when env names an HTTP_ADDR.
// The process is killed when the test ends, and its log shown if it failed.
func launch(t *testing.T, bin, name string, args, env []string) *process {
	t.Helper()
	env = slices.Clone(env)
	if envValue(env, "OPS_ADDR") == "" {
		env = append(env, "OPS_ADDR="+freeAddr(t))
	}
	p := &process{name: name, bin: bin, args: args, env: env, owner: t, opsURL: "http://" + envValue(env, "OPS_ADDR"),
		client: &http.Client{Timeout: 40 * time.Second}}
	if addr := envValue(env, "HTTP_ADDR"); addr != "" {
		p.url = "http://" + addr
	}
	p.start(t)
	return p
}

// envValue returns the last value of key in env, as the process would see it.
func envValue(env []string, key string) string {
	for _, kv := range slices.Backward(env) {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// start runs the binary once more with the same arguments and environment; the
// test that launched the process, not t (which may be a subtest), kills it.
func (p *process) start(t *testing.T) {
	t.Helper()
	require.NoError(t, p.run())
}

// run is start without a t, for a goroutine other than the test's (the chaos
// suite restarts processes from one); the calls on one process must not overlap.
func (p *process) run() error {
	p.runs++
	name := p.name
	if p.runs > 1 {
		name = fmt.Sprintf("%s (run %d)", p.name, p.runs)
	}
	logPath := filepath.Join(p.owner.TempDir(), "process.log")
	if dir := os.Getenv("TEST_PROCESS_LOGS"); dir != "" {
		// Kept after the run, whole (a failure prints only the last lines).
		logPath = filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(fmt.Sprintf("%s-%s-run%d.log", p.owner.Name(), p.name, p.runs)))
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	owner := p.owner
	owner.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if owner.Failed() {
			logs, _ := os.ReadFile(logPath)
			owner.Logf("log of the %s process (pid %d, %s), last lines:\n%s", name, cmd.Process.Pid, cmd.ProcessState, lastLines(logs, 150))
		}
	})
	return nil
}

// lastLines returns the last n lines of a log.
func lastLines(log []byte, n int) []byte {
	lines := bytes.SplitAfter(log, []byte("\n"))
	return bytes.Join(lines[max(0, len(lines)-n):], nil)
}

// waitReady waits until the process's /readyz (and its API's, if it serves
// one) answers 200, failing at once if the process exits.
func (p *process) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	urls := []string{p.opsURL + "/readyz"}
	if p.url != "" {
		urls = append(urls, p.url+"/readyz")
	}
	deadline := time.Now().Add(within)
	for _, u := range urls {
		for {
			select {
			case <-p.exited:
				t.Fatalf("the %s process exited during start: %s", p.name, p.cmd.ProcessState)
			default:
			}
			if resp, err := p.client.Get(u); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			require.False(t, time.Now().After(deadline), "the %s process is not ready after %s (%s)", p.name, within, u)
			select {
			case <-p.exited:
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// stop sends SIGTERM and requires a clean exit within the shutdown timeout.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the %s process did not exit within 20s of SIGTERM", p.name)
	}
	require.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "exit of the %s process: %s", p.name, p.cmd.ProcessState)
}

// kill sends SIGKILL, as a crash would: nothing is drained, closed or committed.
func (p *process) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Kill())
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("the %s process did not exit within 10s of SIGKILL", p.name)
	}
}

// request sends a request to the API; unlike the helpers that take t, it may
// be called from any goroutine, and leaves the checks to the caller.
func (p *process) request(ctx context.Context, method, path string, body any, header http.Header) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.url+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	if _, given := req.Header["Authorization"]; !given {
		// Every request is an operator's unless the caller says who it is.
		req.Header.Set("Authorization", "Bearer "+p.operatorToken())
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// testOperatorToken is the operator's API key of processes started with API_KEYS (kafkaEnv).
const testOperatorToken = "it-operator-token-0001"

// testAPIKeys is the API_KEYS of those processes.
const testAPIKeys = testOperatorToken + "=operator,it-courier-token-0001=courier,it-customer-c-1-token=customer:c-1"

// operatorToken is an operator's token for the process: the test key when it
// has API_KEYS, else the demo key of the embedded mode.
func (p *process) operatorToken() string {
	if envValue(p.env, "API_KEYS") != "" {
		return testOperatorToken
	}
	return wiring.DemoOperatorKey
}

func (p *process) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	status, _, raw, err := p.request(t.Context(), method, path, body, nil)
	require.NoError(t, err)
	return status, raw
}

func (p *process) get(t *testing.T, path string) string {
	t.Helper()
	status, raw := p.do(t, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, status, string(raw))
	return string(bytes.TrimSpace(raw))
}

func (p *process) put(t *testing.T, path string, body any) {
	t.Helper()
	status, raw := p.do(t, http.MethodPut, path, body)
	require.Equal(t, http.StatusOK, status, string(raw))
}

func (p *process) placeOrder(t *testing.T, customer, sku string, qty int) string {
	t.Helper()
	status, raw := p.do(t, http.MethodPost, "/orders", map[string]any{
		"customer_id": customer, "items": []map[string]any{{"sku": sku, "quantity": qty}},
	})
	require.Equal(t, http.StatusAccepted, status, string(raw))
	var res struct {
		OrderID string `json:"order_id"`
	}
	require.NoError(t, json.Unmarshal(raw, &res))
	require.NotEmpty(t, res.OrderID)
	return res.OrderID
}

// orderView is an order as GET /orders/{id} answers it.
type orderView = wiringtest.OrderView

func (p *process) order(t *testing.T, id string) orderView {
	t.Helper()
	var o orderView
	require.NoError(t, json.Unmarshal([]byte(p.get(t, "/orders/"+id)), &o))
	return o
}

// waitOrder waits until the order has one of the statuses.
func (p *process) waitOrder(t *testing.T, id string, statuses ...string) orderView {
	t.Helper()
	var o orderView
	require.Eventuallyf(t, func() bool {
		o = p.order(t, id)
		return slices.Contains(statuses, o.Status)
	}, 20*time.Second, 10*time.Millisecond, "order %s never became %v (last %s)", id, statuses, o.Status)
	return o
}

func (p *process) listOrderIDs(t *testing.T) []string {
	t.Helper()
	var page struct {
		Orders []orderView `json:"orders"`
	}
	require.NoError(t, json.Unmarshal([]byte(p.get(t, "/orders?limit=100")), &page))
	var ids []string
	for _, o := range page.Orders {
		ids = append(ids, o.OrderID)
	}
	return ids
}

func statuses(o orderView) []string {
	var out []string
	for _, h := range o.History {
		out = append(out, h.Status)
	}
	return out
}

// freeAddr returns a loopback address with a port that was free a moment ago.
// The port is below the kernel's ephemeral range: a process started again on
// its port (after a kill) would otherwise, now and then, find it taken by the
// local end of some connection made while it was down.
func freeAddr(t *testing.T) string {
	t.Helper()
	low := 32768 // Linux's default start of ip_local_port_range
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	// The ports of the brokers and test servers of tools/deps and the chaos suite:
	// one of them may be down for a moment, and must find its port free again.
	deps := []int{9092, 9093, 9192, 9193, 19092, 19093, 27017, 27018, 27019, 27020, 27021}
	const from = 10000
	for range 100 {
		if low <= from+1000 {
			break
		}
		port := from + rand.IntN(low-from)
		if slices.Contains(deps, port) {
			continue
		}
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			addr := ln.Addr().String()
			require.NoError(t, ln.Close())
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
