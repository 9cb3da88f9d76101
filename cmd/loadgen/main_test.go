package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/apptest"
	"github.com/orderflow/orderflow/cmd/internal/load"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(load.NullServer())
	t.Cleanup(srv.Close)
	// The environment gives the URL, the flags the rest.
	t.Setenv("LOADGEN_URL", srv.URL)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, stdout, stderr string)
	}{
		{
			name: "json for scripts",
			args: []string{"-duration", "100ms", "-clients", "2", "-json", "-progress", "20ms"},
			check: func(t *testing.T, stdout, stderr string) {
				var res load.Result
				require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
				assert.Positive(t, res.Confirmed)
				assert.Equal(t, 2, res.Clients)
				assert.Contains(t, stderr, "loadgen ", "progress lines go to stderr")
			},
		},
		{
			name: "text for people",
			args: []string{"-duration", "50ms", "-model", "open", "-rate", "200", "-progress", "0"},
			check: func(t *testing.T, stdout, stderr string) {
				assert.Contains(t, stdout, "open model, 200/s offered")
				assert.Contains(t, stdout, "post_to_confirmed")
				assert.Empty(t, stderr)
			},
		},
		{name: "an unknown flag", args: []string{"-speed", "9"}, wantErr: "flag provided but not defined"},
		{name: "an argument", args: []string{"fast"}, wantErr: "unexpected arguments"},
		{name: "a bad value", args: []string{"-model", "sideways"}, wantErr: "model must be closed or open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, &stdout, &stderr)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, stdout.String(), stderr.String())
		})
	}
}

func TestRun_nullServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithCancel(t.Context())
	var stderr apptest.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-null-server", addr}, io.Discard, &stderr) }()
	// The generator's own run against it is the proof that it serves.
	t.Setenv("LOADGEN_URL", "http://"+addr)
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "reference server on") }, 10*time.Second, time.Millisecond)
	var stdout bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-duration", "50ms", "-json", "-progress", "0"}, &stdout, io.Discard))
	var res load.Result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res))
	assert.Positive(t, res.Confirmed)
	assert.Empty(t, res.Errors)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the null server did not stop within 10 s")
	}
}
