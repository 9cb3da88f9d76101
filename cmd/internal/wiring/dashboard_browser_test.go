//go:build browser

package wiring_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/messages"
)

// The browser test drives the operator dashboard in headless Chromium against
// the whole system (four services on GoChannel behind a real HTTP server):
// log in, see an order placed through the API reach CONFIRMED, open its
// timeline, change a stock level through the form, requeue a poisoned message
// and discard a malformed one, each list shrinking, and a phone-width view.
// Each step leaves a screenshot in .artifacts/browser/<time>/ (printed at the
// end); UPDATE_DOCS_SCREENSHOT=1 copies the dashboard's to docs/dashboard.png.
//
// It needs Chromium (CHROMIUM names the binary; else chromium, chromium-browser
// or google-chrome on PATH: tools/browser/install-chromium.sh installs Debian's)
// and fails, never skips, without it. BROWSER_TEST_ADDR is where the system
// listens (default: a free port); chromedp talks to Chromium through a pipe,
// so the browser opens no DevTools port.
func TestDashboardInABrowser(t *testing.T) {
	browser := findChromium(t)
	failing, broken := breakInventoryFor("c-poison")
	h := start(t, withMiddleware(failing), withAddr(envOr("BROWSER_TEST_ADDR", "127.0.0.1:0")))
	h.SetStock("SKU-B", 10)
	h.SetStock("SKU-A", 10)
	waitReady(h)

	dir := filepath.Join(repoRoot(t), ".artifacts", "browser", time.Now().UTC().Format("20060102T150405Z"))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	defer func() { fmt.Printf("browser test screenshots: %s\n", dir) }()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.WindowSize(1280, 1000),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	defer cancel()
	// The first run starts the browser, and must have no deadline (it would
	// stop the browser): each step runs with a deadline of its own after it.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "start Chromium at %s", browser)
	// What the pages say on the console: an exception or a refusal by the
	// Content-Security-Policy fails the test (a 401 or 403 of a refused login is expected).
	var consoleMu sync.Mutex
	var pageErrors []string
	consoleCtx, stopConsole := context.WithCancel(ctx)
	consoleDone := make(chan struct{})
	console := chromedp.Console(consoleCtx)
	go func() {
		defer close(consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				consoleMu.Lock()
				pageErrors = append(pageErrors, m.String())
				consoleMu.Unlock()
			} else if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				t.Logf("browser console: %s", m)
			}
		}
	}()
	defer func() {
		stopConsole()
		<-consoleDone
		consoleMu.Lock()
		defer consoleMu.Unlock()
		assert.Empty(t, pageErrors, "exceptions or CSP refusals on the pages")
	}()
	shot := 0
	step := func(name string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		require.NoError(t, chromedp.Do(stepCtx, actions...), "step %q", name)
		shot++
		png, err := chromedp.Run(stepCtx, chromedp.FullScreenshot(100))
		require.NoError(t, err, "screenshot of %q", name)
		file := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", shot, name))
		require.NoError(t, os.WriteFile(file, png, 0o644))
		t.Logf("step %q done: %s", name, file)
	}
	// The live parts refresh every 5 s: a wait for what a refresh brings is 20 s.
	const refreshWait = 20 * time.Second

	step("login", 60*time.Second,
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#api_key`)),
		chromedp.SendKeys(chromedp.CSS(`#api_key`), wiring.DemoCustomerKey),
		chromedp.Click(chromedp.CSS(`#login-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)), // a customer is refused
		chromedp.SendKeys(chromedp.CSS(`#api_key`), wiring.DemoOperatorKey),
		chromedp.Click(chromedp.CSS(`#login-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#counts [data-status="PENDING"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#health [data-ready="true"]`)),
	)

	orderID := h.PlaceOrder("c-browser", []messages.Item{item("SKU-B", 2)})
	h.WaitStatus(orderID, messages.OrderStatusConfirmed)
	row := fmt.Sprintf(`tr[data-order=%q]`, orderID)
	step("order-confirmed", refreshWait,
		chromedp.WaitVisible(chromedp.CSS(row+` [data-status="CONFIRMED"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#counts [data-status="CONFIRMED"]`)),
	)

	step("timeline", refreshWait,
		chromedp.Click(chromedp.CSS(row+` a.order-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline`)),
		chromedp.WaitVisible(chromedp.CSS(`#order-status[data-status="CONFIRMED"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline tr.step`)),
	)

	step("stock-changed", refreshWait,
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#stock-sku`)),
		chromedp.SendKeys(chromedp.CSS(`#stock-sku`), "SKU-B"),
		chromedp.SendKeys(chromedp.CSS(`#stock-on-hand`), "42"),
		chromedp.Click(chromedp.CSS(`#stock-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-sku="SKU-B"]`)),
	)
	onHand, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-sku="SKU-B"] .on-hand`)))
	require.NoError(t, err)
	require.Equal(t, "42", strings.TrimSpace(onHand))
	require.Equal(t, 42, h.Stock("SKU-B").OnHand)

	// Two poisoned messages: an order's event the inventory fails on, and a
	// malformed message, poisoned at once.
	stuck := h.PlaceOrder("c-poison", []messages.Item{item("SKU-A", 1)})
	failed := h.WaitPoisoned("inventory", stuck)
	bad := message.NewMessage("bad-browser-1", []byte(`{"order_id": 42, "items": "nope"`))
	bad.Metadata.Set("name", "OrderPlaced")
	require.NoError(t, h.PS.Publisher.Publish(messages.TopicOrderEvents, bad))
	var malformed poisonEntryView
	require.Eventually(t, func() bool {
		for _, e := range h.PoisonList("inventory", messages.PoisonStatusPoisoned) {
			if e.ID != failed.ID {
				malformed = e
				return true
			}
		}
		return false
	}, h.Within, 10*time.Millisecond, "the malformed message is not poisoned")
	entry := func(id string) string { return fmt.Sprintf(`li[data-entry=%q]`, id) }
	step("poison-queue", refreshWait,
		chromedp.Navigate(h.URL+"/#poison"),
		chromedp.Reload(), // the same document until now (a fragment navigation): a fresh one, without the last notice
		chromedp.WaitVisible(chromedp.CSS(entry(failed.ID))),
		chromedp.WaitVisible(chromedp.CSS(entry(malformed.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#poison [data-total="2"]`)),
	)
	if os.Getenv("UPDATE_DOCS_SCREENSHOT") != "" {
		copyFile(t, filepath.Join(dir, fmt.Sprintf("%02d-poison-queue.png", shot)), filepath.Join(repoRoot(t), "docs", "dashboard.png"))
	}

	// The fault is fixed: the requeued message goes through and the list shrinks.
	broken.Store(false)
	step("requeued", refreshWait,
		chromedp.Click(chromedp.CSS(entry(failed.ID)+` button.requeue`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash`)),
		chromedp.WaitVisible(chromedp.CSS(`#poison [data-total="1"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(entry(failed.ID))),
	)
	h.WaitStatus(stuck, messages.OrderStatusConfirmed)

	step("discarded", refreshWait,
		chromedp.Click(chromedp.CSS(entry(malformed.ID)+` button.discard`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash`)),
		chromedp.WaitVisible(chromedp.CSS(`#poison [data-total="0"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`li.poison-entry`)),
	)
	require.Empty(t, h.PoisonList("inventory", messages.PoisonStatusPoisoned))

	// The live parts refresh by themselves: an order placed now shows up without a reload.
	later := h.PlaceOrder("c-browser", []messages.Item{item("SKU-B", 1)})
	step("auto-refresh", refreshWait,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-order=%q]`, later))),
	)

	step("phone-width", refreshWait,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#stock-submit`)),
	)

	step("logout", refreshWait,
		chromedp.Click(chromedp.CSS(`.logout button`)),
		chromedp.WaitVisible(chromedp.CSS(`#api_key`)),
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#api_key`)),
	)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// findChromium returns the browser to drive, failing the test when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found (set CHROMIUM, or run tools/browser/install-chromium.sh): the browser test must run")
	return ""
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
	require.NoError(t, os.WriteFile(to, raw, 0o644))
	t.Logf("copied %s to %s", from, to)
}

// repoRoot is the repository's root, where the screenshots go.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	return root
}
