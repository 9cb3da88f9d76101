//go:build integration

package main_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	loadgen "github.com/orderflow/orderflow/cmd/internal/load"
)

// BenchmarkKafkaHops says where the time of an order goes in the Kafka mode:
// the four services as processes of their own on the broker of KAFKA_BROKERS
// (memory stores, COURIER=manual), exporting their spans over OTLP to a
// receiver in the benchmark, and for every POST /orders traced the median
// start (from the POST's server span) and duration of each span of its
// trace, one HOPS line each:
//
//	HOPS mode=… orders=… post_p50_ms=… cores: broker(s)=… gateway=… … (CPU of each process during the load)
//	HOPS orders    send orders.events [OrderPlaced]  start_ms=… dur_ms=… n=…
//
// A "send" span lasts from the Publish until the broker acknowledged (acks=all);
// the gap from it to the "process" span of the next service is the consumer's.
// The load is HOPS_MODE: "idle" (default: 40 orders one at a time, 150 ms
// apart, every one traced), "open" (HOPS_RATE orders/s, 100) or "closed"
// (HOPS_CLIENTS clients, 64), both for BENCH_LOAD_DURATION (8 s), each order
// polled to CONFIRMED as the load generator does, one trace in HOPS_SAMPLE
// (0.1); HOPS_ENV adds variables (KEY=VALUE, space-separated) to the
// services'. The receiver listens on HOPS_OTLP_ADDR (127.0.0.1:18489).
//
//	go test -tags integration -run '^$' -bench KafkaHops -benchtime 1x ./cmd/orderflow/
func BenchmarkKafkaHops(b *testing.B) {
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		b.Fatal("KAFKA_BROKERS must be set: eval \"$(tools/deps/kafka.sh start)\"")
	}
	mode := cmpOr(os.Getenv("HOPS_MODE"), "idle")
	recvAddr := cmpOr(os.Getenv("HOPS_OTLP_ADDR"), "127.0.0.1:18489")
	sample := cmpOr(os.Getenv("HOPS_SAMPLE"), "0.1")
	if mode == "idle" {
		sample = "1"
	}
	recv := startOTLPReceiver(b, recvAddr)
	k := kafkaTopics{brokers: strings.Split(brokers, ","), prefix: fmt.Sprintf("hops%08x_", rand.Uint32())}
	b.Cleanup(func() { k.deleteAll(b) })
	const token = "bench-operator-token-0001"
	bin := buildBinary(b)
	addrs := benchAddrs(b, 5)
	env := []string{
		"KAFKA_BROKERS=" + brokers, "KAFKA_TOPIC_PREFIX=" + k.prefix,
		"MONGODB_URI=", "SEED_DEMO=false", "COURIER=manual", "SAGA_STUCK_AFTER=0", "LOG_LEVEL=warn",
		"API_KEYS=" + token + "=operator", "RATE_LIMIT_OPERATOR=off",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + recvAddr, "OTEL_BSP_SCHEDULE_DELAY=500",
		"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=" + sample,
	}
	env = append(env, strings.Fields(os.Getenv("HOPS_ENV"))...)
	startBenchProcesses(b, bin, env, addrs)
	url := "http://" + addrs[0]
	waitGatewayAnswers(b, url, token, 90*time.Second)
	waitOrderConfirmed(b, url, token, 90*time.Second)

	var summary string
	for first := true; b.Loop(); first = false {
		if !first {
			continue
		}
		c0 := cpuByProcess()
		t0 := time.Now()
		switch mode {
		case "idle":
			summary = idleOrders(b, url, token, 40, 150*time.Millisecond)
		case "open", "closed":
			cfg := loadgen.BenchConfig(token, benchLoadDuration(b))
			if s := os.Getenv("BENCH_LOAD_DURATION"); s == "" {
				cfg.Duration = 8 * time.Second
			}
			cfg.URL = url
			if mode == "open" {
				rate, err := strconv.ParseFloat(cmpOr(os.Getenv("HOPS_RATE"), "100"), 64)
				require.NoError(b, err, "HOPS_RATE")
				cfg.Model, cfg.Rate = loadgen.ModelOpen, rate
			} else {
				clients, err := strconv.Atoi(cmpOr(os.Getenv("HOPS_CLIENTS"), "64"))
				require.NoError(b, err, "HOPS_CLIENTS")
				cfg.Clients = clients
			}
			res, err := loadgen.Run(b.Context(), cfg, nil)
			require.NoError(b, err)
			summary = fmt.Sprintf("orders=%d confirmed_per_s=%.0f requests_per_order=%.1f post_p50_ms=%.1f post_p99_ms=%.1f",
				res.Placed, res.ConfirmedPerSecond, float64(res.Requests)/float64(max(res.Placed, 1)), res.Latency["post"].P50, res.Latency["post"].P99)
		default:
			b.Fatalf("HOPS_MODE %q: want idle, open or closed", mode)
		}
		fmt.Printf("HOPS mode=%s %s cores: %s\n", mode, summary, cpuByProcess().since(c0, time.Since(t0)))
	}
	// The batching exporters send every 500 ms (OTEL_BSP_SCHEDULE_DELAY).
	deadline := time.Now().Add(10 * time.Second)
	var last int
	for time.Now().Before(deadline) {
		n := len(recv.all())
		if n > 0 && n == last {
			break
		}
		last = n
		select {
		case <-b.Context().Done():
			b.FailNow()
		case <-time.After(time.Second):
		}
	}
	for _, line := range hopLines(recv.all()) {
		fmt.Println("HOPS " + line)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// idleOrders places n orders one at a time, gap apart, and returns the
// client's POST latencies.
func idleOrders(b *testing.B, url, token string, n int, gap time.Duration) string {
	client := &http.Client{Timeout: 10 * time.Second}
	var posts []time.Duration
	for i := range n {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url+"/orders",
			bytes.NewBufferString(`{"customer_id":"c-1","items":[{"sku":"WARM-UP","quantity":1}]}`))
		require.NoError(b, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("hops-%d-%d", rand.Uint32(), i))
		t0 := time.Now()
		resp, err := client.Do(req)
		require.NoError(b, err)
		resp.Body.Close()
		require.Equal(b, http.StatusAccepted, resp.StatusCode)
		posts = append(posts, time.Since(t0))
		select {
		case <-b.Context().Done():
			b.FailNow()
		case <-time.After(gap):
		}
	}
	slices.Sort(posts)
	return fmt.Sprintf("orders=%d post_p50_ms=%.1f post_p90_ms=%.1f", n, ms(posts[len(posts)/2]), ms(posts[len(posts)*9/10]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// hopLines are the median start (from the POST /orders server span of its
// trace) and duration of each kind of span, in order of start, over every
// trace that has a POST /orders; MongoDB commands left out.
func hopLines(spans []otlpSpan) []string {
	byTrace := map[string][]otlpSpan{}
	for _, s := range spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	type agg struct{ start, dur []time.Duration }
	kinds := map[string]*agg{}
	traces := 0
	for _, ss := range byTrace {
		i := slices.IndexFunc(ss, func(s otlpSpan) bool { return s.Name == "POST /orders" && s.Service == "gateway" })
		if i < 0 {
			continue
		}
		root := ss[i]
		traces++
		for _, s := range ss {
			if s.Attr["db.system"] != "" || s.Attr["db.system.name"] != "" {
				continue
			}
			key := fmt.Sprintf("%-9s %-40s %-20s", s.Service, s.Name, "["+s.Attr["orderflow.message.name"]+"]")
			a := kinds[key]
			if a == nil {
				a = &agg{}
				kinds[key] = a
			}
			a.start = append(a.start, s.Start.Sub(root.Start))
			a.dur = append(a.dur, s.End.Sub(s.Start))
		}
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	type row struct {
		key        string
		start, dur time.Duration
		n          int
	}
	var rows []row
	for key, a := range kinds {
		rows = append(rows, row{key, median(a.start), median(a.dur), len(a.start)})
	}
	slices.SortFunc(rows, func(a, b row) int { return int(a.start - b.start) })
	lines := []string{fmt.Sprintf("traces=%d (median start from the POST's server span, and duration)", traces)}
	for _, r := range rows {
		lines = append(lines, fmt.Sprintf("%s start_ms=%6.1f dur_ms=%6.1f n=%d", r.key, ms(r.start), ms(r.dur), r.n))
	}
	return lines
}

// cpuTicks are the CPU ticks (user and system, 1/100 s) of the processes
// alive, by pid, named: the services by -service, the Kafka brokers of the
// machine together, this benchmark (the load generator), and the rest.
type cpuTicks map[string]int64

func cpuByProcess() cpuTicks {
	out := cpuTicks{}
	dirs, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	for _, d := range dirs {
		pid := d.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		raw, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(raw), "\x00", " ")
		name := "other"
		switch {
		case strings.Contains(cmd, " -service "):
			name = strings.Fields(cmd[strings.Index(cmd, " -service ")+10:])[0]
		case strings.Contains(cmd, "kafka.Kafka "):
			name = "brokers"
		case pid == self:
			name = "loadgen"
		}
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		out[name+"|"+pid] = utime + stime
	}
	return out
}

// since is the cores each kind of process used from before until now (the
// processes alive at both moments), over d.
func (now cpuTicks) since(before cpuTicks, d time.Duration) string {
	by := map[string]float64{}
	for key, ticks := range now {
		prev, ok := before[key]
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(key, "|")
		by[name] += float64(ticks-prev) / 100 / d.Seconds()
	}
	var parts []string
	for _, name := range []string{"brokers", "gateway", "orders", "inventory", "delivery", "loadgen", "other"} {
		parts = append(parts, fmt.Sprintf("%s=%.2f", name, by[name]))
	}
	return strings.Join(parts, " ")
}
