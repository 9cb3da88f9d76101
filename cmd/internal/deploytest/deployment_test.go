package deploytest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
)

// No Docker engine runs where these tests run, so the deployment files are kept
// correct by construction: every variable they set is one the services read,
// every variable the services read is documented, and every binary they run exists.

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	return root
}

func TestReadmeDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	for _, v := range wiring.EnvVariables() {
		assert.Contains(t, string(readme), "| `"+v+"` |", "README's configuration table lacks %s", v)
	}
}

// The other way round: every variable of the README's configuration table
// is one the services read, so that a variable renamed or lost from Config
// (a user's env file would set it in vain) fails here.
func TestReadmeConfigurationTableNamesOnlyWhatTheServicesRead(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	_, section, found := strings.Cut(string(readme), "\n## Configuration\n")
	require.True(t, found, "README has a Configuration section")
	section, _, _ = strings.Cut(section, "\n## ")
	documented := regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\|").FindAllStringSubmatch(section, -1)
	require.NotEmpty(t, documented)
	read := wiring.EnvVariables()
	var names []string
	for _, m := range documented {
		assert.Contains(t, read, m[1], "the README documents %s, which no service reads", m[1])
		names = append(names, m[1])
	}
	assert.ElementsMatch(t, read, names, "the table lists each variable once")
}

type composeFile struct {
	Services map[string]struct {
		Command         []string          `yaml:"command"`
		Environment     map[string]string `yaml:"environment"`
		StopGracePeriod string            `yaml:"stop_grace_period"`
		Healthcheck     struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
}

func TestComposeFileMatchesTheServices(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c))
	require.Contains(t, c.Services, "kafka")
	require.Contains(t, c.Services, "mongo")
	known := wiring.EnvVariables()
	for _, name := range wiring.AllServices {
		svc, ok := c.Services[name]
		require.True(t, ok, "compose has no %s service", name)
		assert.Equal(t, []string{"/app/" + name}, svc.Command)
		assert.Equal(t, []string{"CMD", "/app/" + name, "healthcheck"}, svc.Healthcheck.Test)
		assert.Equal(t, "service_healthy", svc.DependsOn["kafka"].Condition)
		assert.Equal(t, "service_healthy", svc.DependsOn["mongo"].Condition)
		for k := range svc.Environment {
			assert.True(t, slices.Contains(known, k), "%s sets %s, which no service reads", name, k)
		}
		for _, required := range []string{"KAFKA_BROKERS", "KAFKA_VERSION", "MONGODB_URI", "OPS_ADDR"} {
			assert.Contains(t, svc.Environment, required, "%s", name)
		}
		assert.DirExists(t, filepath.Join(repoRoot(t), "cmd", name))
		// A stop that is not over when compose sends SIGKILL loses what was in flight.
		grace, err := time.ParseDuration(svc.StopGracePeriod)
		if assert.NoError(t, err, "%s: stop_grace_period", name) {
			cfg, err := env.ParseAsWithOptions[wiring.Config](env.Options{Environment: svc.Environment})
			require.NoError(t, err)
			assert.Greater(t, grace, cfg.Process.ShutdownTimeout, "%s: stop_grace_period beyond SHUTDOWN_TIMEOUT", name)
		}
	}
	assert.Contains(t, c.Services["gateway"].Environment, "HTTP_ADDR")
}

func TestDockerfileBuildsEveryServiceAsNonRoot(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	require.NoError(t, err)
	df := string(raw)
	for _, name := range wiring.AllServices {
		assert.Contains(t, df, "./cmd/"+name)
	}
	assert.Contains(t, df, "CGO_ENABLED=0", "a static binary for the distroless image")
	assert.Contains(t, df, "USER nonroot")
	assert.Equal(t, 2, strings.Count(df, "\nFROM ")+boolInt(strings.HasPrefix(df, "FROM ")), "multi-stage build")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
