package logging_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/logging"
	"github.com/orderflow/orderflow/messages"
)

func TestCorrelationIDOncePerLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger, err := logging.New(&buf, "text", "info")
	require.NoError(t, err)
	ctx := messages.WithCorrelationID(context.Background(), "corr-1")

	logger.InfoContext(ctx, "from the context")
	logger.InfoContext(ctx, "named already", "correlation_id", "corr-1")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	for _, l := range lines {
		assert.Equal(t, 1, strings.Count(l, "correlation_id=corr-1"), l)
	}
}
