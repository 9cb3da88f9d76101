package load

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Order statuses the generator tells apart.
const (
	statusPending   = "PENDING"
	statusConfirmed = "CONFIRMED"
	statusRejected  = "REJECTED"
)

// runner is one run: its configuration, client and counts.
type runner struct {
	cfg      Config
	client   *http.Client
	skus     []string
	runID    string
	seq      atomic.Int64
	st       *stats
	readIDs  []string
	progress io.Writer
}

// NewClient returns the HTTP client of a run: keep-alive connections, enough
// of them idle per host for every client (or every request in flight), so
// that the generator measures the system, not its own connection set-up.
func NewClient(conns int, timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	t.DisableCompression = true
	t.ForceAttemptHTTP2 = false
	return &http.Client{Transport: t, Timeout: timeout}
}

// Run runs the load of cfg, writing a progress line to progress (if not nil)
// every cfg.Progress, and returns what it measured. It returns an error only
// when the run could not be made (a bad configuration, stock that could not be
// set, a gateway that does not answer); errors of the load itself are counted.
// Cancelling ctx stops the run early; what was measured until then is returned.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	skus, _ := cfg.SKUList()
	conns := cfg.Clients
	if cfg.Model == ModelOpen {
		conns = cfg.MaxInFlight
	}
	r := &runner{cfg: cfg, client: NewClient(max(conns, 64), cfg.RequestTimeout), skus: skus, runID: cfg.RunID, st: newStats(), progress: progress}
	defer r.client.CloseIdleConnections()
	if r.runID == "" {
		var b [4]byte
		_, _ = crand.Read(b[:])
		r.runID = "load-" + hex.EncodeToString(b[:])
	}
	if cfg.Stock > 0 {
		if err := r.setStock(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Workload == WorkloadReads {
		if err := r.placeReadOrders(ctx); err != nil {
			return nil, err
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	stopProgress := r.startProgress(start)
	switch cfg.Model {
	case ModelClosed:
		r.closed(ctx, start)
	case ModelOpen:
		r.open(ctx, start)
	}
	elapsed := time.Since(start)
	stopProgress()
	return r.result(elapsed, cpuTime()-cpu0), nil
}

// closed runs cfg.Clients clients, each sending its next request when the
// last one is done, until the duration is over.
func (r *runner) closed(ctx context.Context, start time.Time) {
	end := start.Add(r.cfg.Duration)
	var wg sync.WaitGroup
	for range r.cfg.Clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(end) {
					return
				}
				r.one(ctx, now)
			}
		})
	}
	wg.Wait()
}

// open sends at cfg.Rate: the i-th request is due at start + i/rate and its
// latency counts from then, however late the generator gets to send it (a
// full in-flight bound, a slow scheduler): coordinated omission is avoided by
// construction, and the lateness itself is reported.
func (r *runner) open(ctx context.Context, start time.Time) {
	total := int64(r.cfg.Duration.Seconds() * r.cfg.Rate)
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer wg.Wait()
	for i := range total {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.Rate))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		r.st.lag(time.Since(due))
		wg.Go(func() {
			defer func() { <-sem }()
			r.one(ctx, due)
		})
	}
}

// one does one unit of the workload, due at intended.
func (r *runner) one(ctx context.Context, intended time.Time) {
	r.st.inFlight.Add(1)
	defer r.st.inFlight.Add(-1)
	if r.cfg.Workload == WorkloadReads {
		id := r.readIDs[int(r.seq.Add(1)-1)%len(r.readIDs)]
		status, _, err := r.do(ctx, http.MethodGet, "/orders/"+id, nil, "")
		if ctx.Err() != nil {
			return
		}
		r.st.get.record(time.Since(intended))
		if err != nil || status != http.StatusOK {
			r.st.fail(opGet, status, err)
			return
		}
		r.st.reads.Add(1)
		return
	}
	r.order(ctx, intended)
}

// order places one order and follows it: cancels it (a share of them), or
// polls it until it is CONFIRMED or final.
func (r *runner) order(ctx context.Context, intended time.Time) {
	n := r.seq.Add(1)
	r.st.sent.Add(1)
	id, ok := r.place(ctx, n, intended)
	if !ok {
		return
	}
	// Which orders are cancelled needs no unpredictability, only a spread.
	if r.cfg.CancelShare > 0 && rand.Float64() < r.cfg.CancelShare { //nolint:gosec // G404: not security
		r.cancelOrder(ctx, id)
		return
	}
	if r.cfg.Follow {
		r.follow(ctx, id, intended)
	}
}

type accepted struct {
	OrderID string `json:"order_id"`
}

// place sends POST /orders with an Idempotency-Key of its own and returns the
// order id of a 202.
func (r *runner) place(ctx context.Context, n int64, intended time.Time) (string, bool) {
	status, raw, err := r.do(ctx, http.MethodPost, "/orders", r.orderBody(n), r.runID+"-"+strconv.FormatInt(n, 10))
	if ctx.Err() != nil {
		return "", false
	}
	r.st.post.record(time.Since(intended))
	if err != nil || status != http.StatusAccepted {
		r.st.fail(opPost, status, err)
		return "", false
	}
	var a accepted
	if err := json.Unmarshal(raw, &a); err != nil || a.OrderID == "" {
		r.st.errorKind(opPost + "_bad_answer")
		return "", false
	}
	r.st.placed.Add(1)
	return a.OrderID, true
}

// orderBody is the n-th order: Items lines of consecutive SKUs from the n-th,
// for the n-th customer, so that the load spreads evenly over both.
func (r *runner) orderBody(n int64) []byte {
	b := make([]byte, 0, 64+48*r.cfg.Items)
	b = append(b, `{"customer_id":"`...)
	b = append(b, r.runID...)
	b = append(b, "-c"...)
	b = strconv.AppendInt(b, n%int64(r.cfg.Customers), 10)
	b = append(b, `","items":[`...)
	for i := range r.cfg.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sku":`...)
		b = strconv.AppendQuote(b, r.skus[(int(n%int64(len(r.skus)))+i)%len(r.skus)])
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, int64(r.cfg.Quantity), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func (r *runner) cancelOrder(ctx context.Context, id string) {
	begin := time.Now()
	status, _, err := r.do(ctx, http.MethodPost, "/orders/"+id+"/cancel", []byte(`{"reason":"load generator"}`), "")
	if ctx.Err() != nil {
		return
	}
	r.st.cancel.record(time.Since(begin))
	switch {
	case err == nil && status == http.StatusAccepted:
		r.st.cancelled.Add(1)
	case err == nil && status == http.StatusConflict:
		// Already final (rejected, say): an outcome, not an error.
		r.st.cancelRefused.Add(1)
		r.st.note(opCancel, status)
	default:
		r.st.fail(opCancel, status, err)
	}
}

type orderStatus struct {
	Status string `json:"status"`
}

// follow polls GET /orders/{id} every PollInterval until the order is
// CONFIRMED or final, for at most FollowTimeout. A 404 is an order the
// gateway does not show yet (its read side lags); it is polled again.
func (r *runner) follow(ctx context.Context, id string, intended time.Time) {
	deadline := time.Now().Add(r.cfg.FollowTimeout)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		begin := time.Now()
		status, raw, err := r.do(ctx, http.MethodGet, "/orders/"+id, nil, "")
		if ctx.Err() != nil {
			return
		}
		r.st.get.record(time.Since(begin))
		var o orderStatus
		switch {
		case err != nil || (status != http.StatusOK && status != http.StatusNotFound):
			r.st.fail(opGet, status, err)
		case status == http.StatusOK && json.Unmarshal(raw, &o) != nil:
			r.st.errorKind(opGet + "_bad_answer")
		case o.Status == statusConfirmed:
			r.st.toConfirmed.record(time.Since(intended))
			r.st.confirmed.Add(1)
			return
		case o.Status == statusRejected:
			r.st.rejected.Add(1)
			return
		case o.Status != "" && o.Status != statusPending:
			// Final or past CONFIRMED without it being seen: cancelled by someone else, say.
			r.st.otherFinal.Add(1)
			return
		}
		if time.Now().After(deadline) {
			r.st.followTimeouts.Add(1)
			r.st.errorKind("follow_timeout")
			return
		}
		timer.Reset(r.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// do sends one request with the run's token and returns the status and body.
func (r *runner) do(ctx context.Context, method, path string, body []byte, idempotencyKey string) (int, []byte, error) {
	r.st.requests.Add(1)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.cfg.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, raw, err
}

// setStock sets every SKU's on_hand to cfg.Stock, before the run.
func (r *runner) setStock(ctx context.Context) error {
	body := []byte(`{"on_hand":` + strconv.Itoa(r.cfg.Stock) + `}`)
	for _, sku := range r.skus {
		status, raw, err := r.do(ctx, http.MethodPut, "/inventory/"+sku, body, "")
		if err != nil {
			return fmt.Errorf("set the stock of %s: %w", sku, err)
		}
		if status != http.StatusOK {
			return fmt.Errorf("set the stock of %s: %d %s", sku, status, bytes.TrimSpace(raw))
		}
	}
	return nil
}

// placeReadOrders places the orders the reads workload reads, and waits
// until each can be read, so that the run measures reads only.
func (r *runner) placeReadOrders(ctx context.Context) error {
	ids := make([]string, r.cfg.ReadOrders)
	errs := make([]error, len(ids))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n := r.seq.Add(1)
			status, raw, err := r.do(ctx, http.MethodPost, "/orders", r.orderBody(n), r.runID+"-"+strconv.FormatInt(n, 10))
			var a accepted
			switch {
			case err != nil:
			case status != http.StatusAccepted:
				err = fmt.Errorf("%d %s", status, bytes.TrimSpace(raw))
			default:
				err = json.Unmarshal(raw, &a)
			}
			if err != nil {
				errs[i] = fmt.Errorf("place an order to read: %w", err)
				return
			}
			ids[i] = a.OrderID
			errs[i] = r.waitReadable(ctx, a.OrderID)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.readIDs = ids
	return nil
}

func (r *runner) waitReadable(ctx context.Context, id string) error {
	deadline := time.Now().Add(r.cfg.FollowTimeout)
	for {
		status, raw, err := r.do(ctx, http.MethodGet, "/orders/"+id, nil, "")
		if err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d %s", status, bytes.TrimSpace(raw))
			}
			return fmt.Errorf("order %s not readable within %s: %w", id, r.cfg.FollowTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(r.cfg.PollInterval, time.Millisecond)):
		}
	}
}

// startProgress writes a line every cfg.Progress until the returned function is called.
func (r *runner) startProgress(start time.Time) func() {
	if r.progress == nil || r.cfg.Progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.cfg.Progress)
		defer t.Stop()
		var lastPlaced, lastConfirmed, lastReads int64
		last := start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				placed, confirmed, reads := r.st.placed.Load(), r.st.confirmed.Load(), r.st.reads.Load()
				dt := now.Sub(last).Seconds()
				if r.cfg.Workload == WorkloadReads {
					_, _ = fmt.Fprintf(r.progress, "loadgen %5.1fs  reads %d (%.0f/s)  errors %d  in flight %d\n",
						now.Sub(start).Seconds(), reads, float64(reads-lastReads)/dt, r.st.errorCount(), r.st.inFlight.Load())
				} else {
					_, _ = fmt.Fprintf(r.progress, "loadgen %5.1fs  placed %d (%.0f/s)  confirmed %d (%.0f/s)  rejected %d  cancelled %d  errors %d  in flight %d\n",
						now.Sub(start).Seconds(), placed, float64(placed-lastPlaced)/dt, confirmed, float64(confirmed-lastConfirmed)/dt,
						r.st.rejected.Load(), r.st.cancelled.Load(), r.st.errorCount(), r.st.inFlight.Load())
				}
				lastPlaced, lastConfirmed, lastReads, last = placed, confirmed, reads, now
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
