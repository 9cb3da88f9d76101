package poison_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/orderflow/orderflow/app/poison"
)

func TestStoredOnly(t *testing.T) {
	t.Parallel()
	failed := errors.New("fn failed")
	for _, tc := range []struct {
		name    string
		entry   poison.Entry
		fnErr   error
		wantErr error
		wantRan bool
	}{
		{name: "a fresh entry (never saved) is not found, fn does not run", entry: poison.Entry{ID: "p-1"}, wantErr: poison.ErrNotFound},
		{name: "a stored entry runs fn", entry: poison.Entry{ID: "p-1", Revision: 1}, wantRan: true},
		{name: "fn's error is returned", entry: poison.Entry{ID: "p-1", Revision: 2}, fnErr: failed, wantErr: failed, wantRan: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ran := false
			err := poison.StoredOnly(func(*poison.Entry) error { ran = true; return tc.fnErr })(&tc.entry)
			assert.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr == nil {
				assert.NoError(t, err)
			}
			assert.Equal(t, tc.wantRan, ran)
		})
	}
}
