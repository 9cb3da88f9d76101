package deploytest_test

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// A compose file can mount a volume on a path its image never writes to and
// still be valid: the data then lives in the container and is gone at the
// next `docker compose down`. No Docker engine runs here, so the tests below
// tie every stateful container's mounts to where its image really keeps its
// data, as read from the image's own sources.

// imageStorage is what one image's sources say about where it keeps its data.
type imageStorage struct {
	// tag is the prefix of the image tags these facts were read for; another
	// tag in docker-compose.yml means reading the sources again.
	tag string
	// dataDirs gives the directories the process writes its data to, for the
	// service's environment and command.
	dataDirs func(env map[string]string, command []string) []string
	// prepared are the directories the image makes writable for the user its
	// process runs as. A new named volume mounted on one starts as a copy of
	// it, ownership included; a volume mounted anywhere else is root-owned.
	prepared []string
	// stateVolumes are the paths the image declares as VOLUMEs that hold data:
	// each must be a named volume, or Docker makes an anonymous one that a
	// recreated container does not get back.
	stateVolumes []string
	// user is the user the image's process runs as (for the messages); the
	// service must not override it.
	user string
}

// storageByImage holds every image docker-compose.yml runs that is not built
// from this repository. Sources, read at the tags given:
//
//   - apache/kafka (apache/kafka repository): docker/jvm/Dockerfile runs
//     `mkdir -p /var/lib/kafka/data`, `chown appuser:root -R /var/lib/kafka`,
//     `chmod -R ug+w ... /var/lib/kafka`, `USER appuser` and
//     `VOLUME ["/etc/kafka/secrets", "/var/lib/kafka/data", "/mnt/shared/config"]`
//     (secrets and shared config are inputs, not data);
//     docker/resources/common-scripts/configureDefaults sets
//     KAFKA_LOG_DIRS=/tmp/kraft-combined-logs when it is unset, and the
//     configure script turns KAFKA_LOG_DIRS into log.dirs. KRaft keeps its
//     metadata log in the first log dir unless KAFKA_METADATA_LOG_DIR is set.
//   - mongo (docker-library/mongo): 7.0/Dockerfile creates /data/db and
//     /data/configdb owned by mongodb (uid 999) and declares both VOLUMEs;
//     7.0/docker-entrypoint.sh starts as root, chowns them to mongodb and steps
//     down with gosu; its _dbPath is --dbpath if given, else /data/configdb
//     with --configsvr, else /data/db. A command starting with "-" is mongod's
//     arguments.
//   - jaegertracing/jaeger (jaegertracing/jaeger, v2): with no --config the
//     binary runs its embedded all-in-one configuration
//     (cmd/jaeger/internal/all-in-one.yaml), whose trace storage is in memory;
//     cmd/jaeger/Dockerfile declares no VOLUME. Compose's Jaeger is a local
//     trace viewer: its traces live as long as its container, by choice.
var storageByImage = map[string]imageStorage{
	"jaegertracing/jaeger": {
		tag:      "2.",
		dataDirs: func(map[string]string, []string) []string { return nil },
		user:     "the image's own",
	},
	"apache/kafka": {
		tag: "4.",
		dataDirs: func(env map[string]string, _ []string) []string {
			dirs := strings.Split(cmp.Or(env["KAFKA_LOG_DIRS"], "/tmp/kraft-combined-logs"), ",")
			if meta := env["KAFKA_METADATA_LOG_DIR"]; meta != "" {
				dirs = append(dirs, meta)
			}
			return dirs
		},
		prepared:     []string{"/var/lib/kafka/data"},
		stateVolumes: []string{"/var/lib/kafka/data"},
		user:         "appuser",
	},
	"mongo": {
		tag: "7.0",
		dataDirs: func(_ map[string]string, command []string) []string {
			if v, ok := flagValue(command, "--dbpath"); ok {
				return []string{v}
			}
			if slices.Contains(command, "--configsvr") {
				return []string{"/data/configdb"}
			}
			return []string{"/data/db"}
		},
		prepared:     []string{"/data/db", "/data/configdb"},
		stateVolumes: []string{"/data/db", "/data/configdb"},
		user:         "mongodb (the entrypoint starts as root and steps down)",
	},
}

// flagValue finds `--name value` or `--name=value` in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// mount is one entry of a service's volumes, in the short ("src:dst:mode") or
// the long syntax.
type mount struct {
	Type   string `yaml:"type"`
	Source string `yaml:"source"`
	Target string `yaml:"target"`
	Volume struct {
		NoCopy bool `yaml:"nocopy"`
	} `yaml:"volume"`
}

func (m *mount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		type plain mount
		return n.Decode((*plain)(m))
	}
	var short string
	if err := n.Decode(&short); err != nil {
		return err
	}
	parts := strings.Split(short, ":")
	switch len(parts) {
	case 1: // an anonymous volume
		m.Type, m.Target = "volume", parts[0]
	default:
		m.Source, m.Target = parts[0], parts[1]
		m.Type = "volume"
		if strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "/") || strings.HasPrefix(m.Source, "~") {
			m.Type = "bind"
		}
		if len(parts) > 2 && slices.Contains(strings.Split(parts[2], ","), "nocopy") {
			m.Volume.NoCopy = true
		}
	}
	return nil
}

// command is a compose command, as a list or as one string.
type command []string

func (c *command) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*c = strings.Fields(n.Value)
		return nil
	}
	return n.Decode((*[]string)(c))
}

type storageCompose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		User        string            `yaml:"user"`
		Command     command           `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []mount           `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// under reports whether dir is mount or inside it.
func under(dir, mount string) bool {
	dir, mount = path.Clean(dir), path.Clean(mount)
	return dir == mount || strings.HasPrefix(dir, mount+"/")
}

// storageProblems lists every way raw's stateful containers would lose their
// data or fail to write it.
func storageProblems(raw []byte) ([]string, error) {
	var c storageCompose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	names := make([]string, 0, len(c.Services))
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	stateful := 0
	for _, name := range names {
		svc := c.Services[name]
		if svc.Build != nil {
			// Ours: the services keep their state in Kafka and MongoDB.
			for _, m := range svc.Volumes {
				add("%s: built from this repository, its state belongs in Kafka or MongoDB, not in a volume at %s", name, m.Target)
			}
			continue
		}
		repo, tag, _ := strings.Cut(svc.Image, ":")
		st, ok := storageByImage[repo]
		if !ok {
			add("%s: image %q is not in storageByImage: read its sources for where it keeps its data", name, svc.Image)
			continue
		}
		stateful++
		if !strings.HasPrefix(tag, st.tag) {
			add("%s: image %q, but storageByImage was read from %s:%s*; read the sources again", name, svc.Image, repo, st.tag)
		}
		if svc.User != "" {
			// Another user may not be able to write what the image
			// prepared for its own.
			add("%s: runs as user %q, the image's sources were read for its own user, %s", name, svc.User, st.user)
		}
		named := map[string]mount{}
		for _, m := range svc.Volumes {
			switch {
			case m.Type != "volume":
				add("%s: %s is a %s mount; a named volume keeps the image's ownership", name, m.Target, m.Type)
			case m.Source == "":
				add("%s: %s is an anonymous volume, a new empty one after every `down`", name, m.Target)
			case m.Volume.NoCopy:
				add("%s: %s has nocopy, so the new volume is root-owned, not the image's user's", name, m.Target)
			default:
				if _, declared := c.Volumes[m.Source]; !declared {
					add("%s: volume %s is not declared at the top level", name, m.Source)
				}
				named[m.Target] = m
			}
		}
		for _, dir := range st.dataDirs(svc.Environment, svc.Command) {
			var on string
			for target := range named {
				if under(dir, target) {
					on = target
				}
			}
			switch {
			case on == "":
				add("%s: writes its data to %s, which is on no named volume", name, dir)
			case !slices.Contains(st.prepared, path.Clean(on)):
				add("%s: %s is mounted at %s, a path the image does not prepare for its user", name, dir, on)
			}
		}
		for _, v := range st.stateVolumes {
			if _, ok := named[v]; !ok {
				add("%s: the image declares VOLUME %s; without a named volume there it gets an anonymous one", name, v)
			}
		}
	}
	if stateful == 0 {
		add("no stateful service found")
	}
	return problems, nil
}

func TestComposeKeepsEveryStatefulContainersData(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	require.NoError(t, err)
	problems, err := storageProblems(raw)
	require.NoError(t, err)
	assert.Empty(t, problems)

	var c storageCompose
	require.NoError(t, yaml.Unmarshal(raw, &c))
	assert.Equal(t, "/var/lib/kafka/data", c.Services["kafka"].Environment["KAFKA_LOG_DIRS"],
		"the broker's log dirs on the volume the image prepares")
}

// TestStorageProblemsFindsEachMistake proves the check above can fail.
func TestStorageProblemsFindsEachMistake(t *testing.T) {
	t.Parallel()
	const kafkaOK = `
  kafka:
    image: apache/kafka:4.1.2
    environment:
      KAFKA_LOG_DIRS: /var/lib/kafka/data
    volumes: [kafka-data:/var/lib/kafka/data]
`
	const mongoOK = `
  mongo:
    image: mongo:7.0
    command: ["--replSet", "rs0"]
    volumes: [mongo-data:/data/db, mongo-config:/data/configdb]
`
	const top = "\nvolumes: {kafka-data: {}, mongo-data: {}, mongo-config: {}, other: {}}\n"
	tests := []struct {
		name    string
		compose string
		want    string // a substring of one problem; "" for none
	}{
		{name: "both right", compose: kafkaOK + mongoOK},
		{name: "long syntax", compose: `
  kafka:
    image: apache/kafka:4.1.2
    environment: {KAFKA_LOG_DIRS: /var/lib/kafka/data/logs}
    volumes: [{type: volume, source: kafka-data, target: /var/lib/kafka/data}]
` + mongoOK},
		{name: "kafka log dirs left to the image's default", compose: `
  kafka:
    image: apache/kafka:4.1.2
    volumes: [kafka-data:/var/lib/kafka/data]
` + mongoOK, want: "writes its data to /tmp/kraft-combined-logs, which is on no named volume"},
		{name: "kafka log dirs beside the mount", compose: `
  kafka:
    image: apache/kafka:4.1.2
    environment: {KAFKA_LOG_DIRS: /var/lib/kafka/data2}
    volumes: [kafka-data:/var/lib/kafka/data]
` + mongoOK, want: "/var/lib/kafka/data2, which is on no named volume"},
		{name: "kafka metadata log elsewhere", compose: `
  kafka:
    image: apache/kafka:4.1.2
    environment: {KAFKA_LOG_DIRS: /var/lib/kafka/data, KAFKA_METADATA_LOG_DIR: /tmp/meta}
    volumes: [kafka-data:/var/lib/kafka/data]
` + mongoOK, want: "/tmp/meta, which is on no named volume"},
		{name: "kafka volume on a path appuser cannot write", compose: `
  kafka:
    image: apache/kafka:4.1.2
    environment: {KAFKA_LOG_DIRS: /kafka}
    volumes: [kafka-data:/kafka, other:/var/lib/kafka/data]
` + mongoOK, want: "a path the image does not prepare for its user"},
		{name: "kafka bind mount", compose: `
  kafka:
    image: apache/kafka:4.1.2
    environment: {KAFKA_LOG_DIRS: /var/lib/kafka/data}
    volumes: [./data:/var/lib/kafka/data]
` + mongoOK, want: "is a bind mount"},
		{name: "kafka nocopy", compose: `
  kafka:
    image: apache/kafka:4.1.2
    environment: {KAFKA_LOG_DIRS: /var/lib/kafka/data}
    volumes: [kafka-data:/var/lib/kafka/data:nocopy]
` + mongoOK, want: "has nocopy"},
		{name: "kafka as another user", compose: `
  kafka:
    image: apache/kafka:4.1.2
    user: root
    environment: {KAFKA_LOG_DIRS: /var/lib/kafka/data}
    volumes: [kafka-data:/var/lib/kafka/data]
` + mongoOK, want: `runs as user "root"`},
		{name: "kafka image not checked", compose: `
  kafka:
    image: apache/kafka:3.9.1
    environment: {KAFKA_LOG_DIRS: /var/lib/kafka/data}
    volumes: [kafka-data:/var/lib/kafka/data]
` + mongoOK, want: "read the sources again"},
		{name: "mongo without a volume", compose: kafkaOK + `
  mongo:
    image: mongo:7.0
`, want: "mongo: writes its data to /data/db, which is on no named volume"},
		{name: "mongo configdb anonymous", compose: kafkaOK + `
  mongo:
    image: mongo:7.0
    volumes: [mongo-data:/data/db]
`, want: "declares VOLUME /data/configdb"},
		{name: "mongo dbpath moved off the volume", compose: kafkaOK + `
  mongo:
    image: mongo:7.0
    command: --replSet rs0 --dbpath=/srv/db
    volumes: [mongo-data:/data/db, mongo-config:/data/configdb]
`, want: "/srv/db, which is on no named volume"},
		{name: "mongo as a config server", compose: kafkaOK + `
  mongo:
    image: mongo:7.0
    command: ["--configsvr"]
    volumes: [mongo-data:/data/db, /data/configdb]
`, want: "/data/configdb is an anonymous volume"},
		{name: "volume not declared", compose: kafkaOK + `
  mongo:
    image: mongo:7.0
    volumes: [nowhere:/data/db, mongo-config:/data/configdb]
`, want: "volume nowhere is not declared"},
		{name: "an unknown image", compose: kafkaOK + mongoOK + `
  redis:
    image: redis:7
`, want: `image "redis:7" is not in storageByImage`},
		{name: "our own service with a volume", compose: kafkaOK + mongoOK + `
  orders:
    build: .
    volumes: [other:/var/lib/orders]
`, want: "its state belongs in Kafka or MongoDB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems, err := storageProblems([]byte("services:" + tt.compose + top))
			require.NoError(t, err)
			if tt.want == "" {
				assert.Empty(t, problems)
				return
			}
			assert.True(t, slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }),
				"want a problem with %q, got %q", tt.want, problems)
		})
	}
}
