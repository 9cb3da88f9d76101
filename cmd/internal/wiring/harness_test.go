package wiring_test

import "github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"

// The component tests run the system on wiringtest's harness, which their runs
// on MongoDB (wiringintegration) share; these short names keep them as they
// read.
type (
	harness         = wiringtest.Harness
	option          = wiringtest.Option
	orderView       = wiringtest.OrderView
	poisonEntryView = wiringtest.PoisonEntryView
	recorded        = wiringtest.Recorded
)

var (
	start             = wiringtest.Start
	item              = wiringtest.Item
	statuses          = wiringtest.Statuses
	autoCourier       = wiringtest.AutoCourier
	withConfig        = wiringtest.WithConfig
	withMiddleware    = wiringtest.WithMiddleware
	withSweeper       = wiringtest.WithSweeper
	withAddr          = wiringtest.WithAddr
	withMetrics       = wiringtest.WithMetrics
	withTracing       = wiringtest.WithTracing
	bare              = wiringtest.Bare
	breakInventoryFor = wiringtest.BreakInventoryFor
	counterValue      = wiringtest.CounterValue
	waitPublished     = wiringtest.WaitPublished
)
