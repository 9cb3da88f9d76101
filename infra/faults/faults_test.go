package faults_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/messages"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	var syntax error = &json.SyntaxError{}
	for _, tc := range []struct {
		name string
		err  error
		want faults.Class
	}{
		{name: "a broken contract", err: fmt.Errorf("place: %w", messages.ErrInvalid), want: faults.Permanent},
		{name: "a payload that does not decode", err: fmt.Errorf("decode: %w", syntax), want: faults.Permanent},
		{name: "a marked infrastructure fault", err: fmt.Errorf("save: %w", faults.Unavailable(errors.New("no server"))), want: faults.Transient},
		{name: "a deadline", err: fmt.Errorf("publish: %w", context.DeadlineExceeded), want: faults.Transient},
		{name: "a cancellation is a stop", err: fmt.Errorf("publish: %w", context.Canceled), want: faults.Shutdown},
		{name: "a stop wins over the fault it interrupted", err: fmt.Errorf("%w: %w", context.Canceled, faults.Unavailable(errors.New("down"))), want: faults.Shutdown},
		{name: "a broken contract wins over everything", err: faults.Unavailable(fmt.Errorf("%w: bad", messages.ErrInvalid)), want: faults.Permanent},
		{name: "anything else", err: errors.New("odd"), want: faults.Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, faults.Classify(tc.err))
		})
	}
}

func TestUnavailableKeepsTheErrorAndItsText(t *testing.T) {
	t.Parallel()
	base := errors.New("connection refused")
	err := faults.Unavailable(base)
	assert.ErrorIs(t, err, base)
	assert.ErrorIs(t, err, faults.ErrUnavailable)
	assert.Equal(t, "connection refused", err.Error())
	assert.Equal(t, err, faults.Unavailable(err), "marking twice changes nothing")
	assert.NoError(t, faults.Unavailable(nil))
}
