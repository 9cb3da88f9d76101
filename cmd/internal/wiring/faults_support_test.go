package wiring_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/infra/faults"
)

// Fault injection for the component tests: stores and publishers that fail
// every nth call with an infrastructure error, as a store or broker that is
// briefly unreachable does.

// errFaultInjected is the fault the wrappers inject, marked with faults.Unavailable
// like every infrastructure error of the real adapters.
var errFaultInjected = errors.New("injected fault")

// everyNth fails every nth call. Half of its faults come before the call (it
// never reaches the store or the broker), half after it went through (the
// write is done, or the message sent, but the caller sees an error, as after a
// timeout on the answer): both must be survived.
type everyNth struct {
	n             int64
	calls         atomic.Int64
	before, after atomic.Int64
}

func newEveryNth(n int64) *everyNth { return &everyNth{n: n} }

// fault decides about the next call: whether it fails, and if so whether the
// call goes through first.
func (f *everyNth) fault() (fail, afterCall bool, call int64) {
	if f == nil || f.n <= 0 {
		return false, false, 0
	}
	c := f.calls.Add(1)
	if c%f.n != 0 {
		return false, false, c
	}
	if (c/f.n)%2 == 0 {
		f.after.Add(1)
		return true, true, c
	}
	f.before.Add(1)
	return true, false, c
}

func (f *everyNth) String() string {
	return fmt.Sprintf("%d of %d calls failed (%d before the call, %d after it went through)",
		f.before.Load()+f.after.Load(), f.calls.Load(), f.before.Load(), f.after.Load())
}

func injectedError(what string, call int64, after bool) error {
	when := "before"
	if after {
		when = "after"
	}
	return faults.Unavailable(fmt.Errorf("%s: %w (call %d, %s it went through)", what, errFaultInjected, call, when))
}

// inject runs call under f's faults.
func inject[T any](f *everyNth, what string, call func() (T, error)) (T, error) {
	fail, after, n := f.fault()
	if !fail {
		return call()
	}
	var zero T
	if after {
		if _, err := call(); err != nil {
			return zero, err
		}
	}
	return zero, injectedError(what, n, after)
}

func injectErr(f *everyNth, what string, call func() error) error {
	_, err := inject(f, what, func() (struct{}, error) { return struct{}{}, call() })
	return err
}

// faultyStores wraps every write of st's domain stores (reads pass through)
// with f's faults; the poison stores are left as they are.
func faultyStores(st wiring.Stores, f *everyNth) wiring.Stores {
	st.Orders = faultyOrders{st.Orders, f}
	st.Products = faultyProducts{st.Products, f}
	st.Reservations = faultyReservations{st.Reservations, f}
	st.Shipments = faultyShipments{st.Shipments, f}
	return st
}

type faultyOrders struct {
	orders.Repository
	f *everyNth
}

func (r faultyOrders) Update(ctx context.Context, id string, fn func(*orders.Order) error) (orders.Order, error) {
	return inject(r.f, "update order", func() (orders.Order, error) { return r.Repository.Update(ctx, id, fn) })
}

type faultyProducts struct {
	inventory.Products
	f *everyNth
}

func (r faultyProducts) Update(ctx context.Context, sku string, fn func(*inventory.Product) error) (inventory.Product, error) {
	return inject(r.f, "update product", func() (inventory.Product, error) { return r.Products.Update(ctx, sku, fn) })
}

func (r faultyProducts) Hold(ctx context.Context, sku, orderID string, qty int, now time.Time) error {
	return injectErr(r.f, "hold stock", func() error { return r.Products.Hold(ctx, sku, orderID, qty, now) })
}

func (r faultyProducts) Release(ctx context.Context, sku, orderID string, now time.Time) error {
	return injectErr(r.f, "release stock", func() error { return r.Products.Release(ctx, sku, orderID, now) })
}

func (r faultyProducts) Commit(ctx context.Context, sku, orderID string, now time.Time) error {
	return injectErr(r.f, "commit stock", func() error { return r.Products.Commit(ctx, sku, orderID, now) })
}

type faultyReservations struct {
	inventory.Reservations
	f *everyNth
}

func (r faultyReservations) Update(ctx context.Context, orderID string, fn func(*inventory.Reservation) error) (inventory.Reservation, error) {
	return inject(r.f, "update reservation", func() (inventory.Reservation, error) { return r.Reservations.Update(ctx, orderID, fn) })
}

type faultyShipments struct {
	delivery.Repository
	f *everyNth
}

func (r faultyShipments) Update(ctx context.Context, orderID string, fn func(*delivery.Shipment) error) (delivery.Shipment, error) {
	return inject(r.f, "update shipment", func() (delivery.Shipment, error) { return r.Repository.Update(ctx, orderID, fn) })
}

// faultyPublisher fails every nth publish.
type faultyPublisher struct {
	message.Publisher
	f *everyNth
}

func (p faultyPublisher) Publish(topic string, msgs ...*message.Message) error {
	return injectErr(p.f, "publish to "+topic, func() error { return p.Publisher.Publish(topic, msgs...) })
}

// poisonRecorder keeps what is published to a poison topic.
type poisonRecorder struct {
	message.Publisher
	mu       sync.Mutex
	poisoned []recorded
}

func (p *poisonRecorder) Publish(topic string, msgs ...*message.Message) error {
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		return err
	}
	if strings.HasSuffix(topic, "poison") {
		p.mu.Lock()
		for _, m := range msgs {
			p.poisoned = append(p.poisoned, recorded{Topic: topic, Msg: m.Copy()})
		}
		p.mu.Unlock()
	}
	return nil
}

func (p *poisonRecorder) all() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.poisoned...)
}
