package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	gotoml "github.com/pelletier/go-toml/v2"

	"github.com/mastra-server/mastra-server/internal/providers"
)

// defaultStepTimeout bounds a workflow step that sets no timeout.
const defaultStepTimeout = 5 * time.Minute

// defaultChunkRetention is how long a finished run's stream chunks are
// kept for observe when the workflow sets no chunk_retention.
const defaultChunkRetention = 24 * time.Hour

// defaultMaxIterations bounds an until or while loop that sets no
// max_iterations, so a condition that never holds fails the run.
const defaultMaxIterations = 1000

// defaultMaxForeachItems caps a foreach step's list when the workflow sets
// no max_foreach_items.
const defaultMaxForeachItems = 10000

// DefaultFile is the configuration file read when no path is given.
const DefaultFile = "mastra.toml"

// envNames maps the environment names of the original Mastra server README
// (and Azure's own variables) to configuration keys. Each provider's API key
// and base URL variables come from the provider registry.
var envNames = map[string]string{
	"MASTRA_PORT":           "server.port",
	"MASTRA_HOST":           "server.host",
	"ALLOWED_ORIGINS":       "server.cors.origins",
	"MEMORY_DATABASE_URL":   "memory.database_url",
	"AZURE_RESOURCE_NAME":   "providers.azure.resource_name",
	"AZURE_API_VERSION":     "providers.azure.api_version",
	"AZURE_OPENAI_ENDPOINT": "providers.azure.endpoint",
	"AZURE_DEPLOYMENT":      "providers.azure.deployment",
	"MASTRA_LOG_LEVEL":      "log.level",
	// PORT is what Render, Railway, Heroku and Cloud Run inject, and
	// DATABASE_URL what they name an attached Postgres. Each yields to our
	// own names for the key: see platformVars.
	"PORT":         "server.port",
	"DATABASE_URL": "memory.database_url",
}

// platformVars lists the platforms' conventional variables with the names of
// ours that win over them whatever the order of the environment, so a
// platform's variable is only a fallback.
var platformVars = map[string][]string{
	"PORT":         {"MASTRA_PORT", "MASTRA_SERVER__PORT"},
	"DATABASE_URL": {"MEMORY_DATABASE_URL", "MASTRA_MEMORY__DATABASE_URL"},
}

// platformOverridden returns the platform variables that the environment
// overrides by one of our own names.
func platformOverridden(lookup func(string) string) map[string]bool {
	out := map[string]bool{}
	for platform, ours := range platformVars {
		for _, name := range ours {
			if lookup(name) != "" {
				out[platform] = true
			}
		}
	}
	return out
}

// EnvPrefix starts the generic environment mapping: MASTRA_SERVER__TIMEOUT=60s
// sets server.timeout. A double underscore separates levels, so keys keep their
// single underscores (MASTRA_SERVER__BODY_LIMIT).
const EnvPrefix = "MASTRA_"

// envKey returns the configuration key an environment variable sets, or "".
func envKey(name string) string {
	if k, ok := envNames[name]; ok {
		return k
	}
	for _, p := range providers.All() {
		switch name {
		case p.APIKeyEnv:
			return "providers." + p.Name + ".api_key"
		case p.BaseURLEnv:
			return "providers." + p.Name + ".base_url"
		}
	}
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok || !strings.Contains(rest, "__") {
		return "" // e.g. MASTRA_API_TOKEN belongs to a plugin, not to us
	}
	return strings.ToLower(strings.ReplaceAll(rest, "__", "."))
}

// Load reads defaults < the TOML file at path < the environment. When path is
// empty, DefaultFile is read if it exists. environ is os.Environ() in
// production and a fixed list in tests. Load does not validate; call Validate.
func Load(path string, environ []string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultFile
	}

	cfg := &Config{}
	var fk *koanf.Koanf // the file, nil when there is none
	if _, err := os.Stat(path); err == nil {
		fk = koanf.New(".")
		if err := fk.Load(file.Provider(path), toml.Parser()); err != nil {
			// Name where the syntax breaks as editors and compilers do.
			var de *gotoml.DecodeError
			if errors.As(err, &de) {
				row, col := de.Position()
				return nil, fmt.Errorf("config: %s:%d:%d: %w", path, row, col, err)
			}
			return nil, fmt.Errorf("config: read %s: %w", path, err)
		}
		// The file alone is decoded strictly: unknown keys and wrong types
		// stop the start. The environment is decoded leniently below.
		if fk, err = applyAliases(fk); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var probe Config
		if err := decode(fk, &probe, true); err != nil {
			return nil, fileErrors(path, err)
		}
		cfg.File = path
		cfg.AgentOrder = agentOrder(path)
	} else if explicit {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}

	envUsed := map[string]string{} // config key -> env var, for error messages
	overridden := platformOverridden(envLookup(environ))
	ek := koanf.New(".")
	err := ek.Load(env.Provider(".", env.Opt{
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			key := envKey(name)
			if key == "" || value == "" || overridden[name] {
				return "", nil
			}
			envUsed[key] = name
			return key, value
		},
	}), nil)
	if err != nil {
		return nil, fmt.Errorf("config: read environment: %w", err)
	}

	// The defaults layer is built for what the file and the environment
	// name: each provider they configure or refer to gets its defaults, and
	// the built-in assistant stays when the file defines no agent, so that
	// MASTRA_AGENTS__ASSISTANT__MODEL changes its model and keeps its
	// instructions.
	base := defaults()
	if fk != nil && fk.Exists("agents") {
		delete(base, "agents")
	}
	provs := base["providers"].(map[string]any)
	for _, name := range providerNames(environ, fk, ek) {
		if _, ok := provs[name]; !ok {
			provs[name] = providerDefaults(name, configuredKind(name, ek, fk))
		}
	}
	k := koanf.New(".")
	if err := k.Load(mapProvider(base), nil); err != nil {
		return nil, fmt.Errorf("config: load defaults: %w", err)
	}
	for _, layer := range []*koanf.Koanf{fk, ek} {
		if layer == nil {
			continue
		}
		if err := k.Merge(layer); err != nil {
			return nil, fmt.Errorf("config: merge: %w", err)
		}
	}

	file, order := cfg.File, cfg.AgentOrder
	if err := decode(k, cfg, false); err != nil {
		return nil, envErrors(err, envUsed)
	}
	cfg.File, cfg.AgentOrder = file, order
	cfg.applyDerived(environ)
	if cfg.File != "" {
		dir, err := filepath.Abs(filepath.Dir(cfg.File))
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", cfg.File, err)
		}
		cfg.resolvePaths(dir)
	}
	return cfg, nil
}

// resolvePaths makes the paths of the files a configuration points at
// (plugin modules, input_schema files, mounted host directories) relative to
// dir, the configuration file's directory, so that --config works from any
// working directory. Absolute paths stay as given. Paths of what the server
// writes (memory.sqlite_path, plugins.cache_dir) stay relative to the
// working directory, the process's data directory.
func (c *Config) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	grants := func(g *Grants) {
		for i := range g.Mounts {
			g.Mounts[i].Host = abs(g.Mounts[i].Host)
		}
	}
	for i := range c.Middleware {
		c.Middleware[i].Module = abs(c.Middleware[i].Module)
		grants(&c.Middleware[i].Grants)
	}
	for i := range c.Routes {
		c.Routes[i].Module = abs(c.Routes[i].Module)
		grants(&c.Routes[i].Grants)
	}
	schema := func(v any) any {
		if s, ok := v.(string); ok && !strings.HasPrefix(strings.TrimSpace(s), "{") {
			return abs(s)
		}
		return v
	}
	for id, w := range c.Workflows {
		w.InputSchema, w.OutputSchema = schema(w.InputSchema), schema(w.OutputSchema)
		eachStep(w.Steps, func(s *Step) { s.ResumeSchema = schema(s.ResumeSchema) })
		c.Workflows[id] = w
	}
	for id, s := range c.MCPServers {
		for i := range s.Resources {
			s.Resources[i].File = abs(s.Resources[i].File)
		}
		for i := range s.Prompts {
			for j := range s.Prompts[i].Messages {
				m := &s.Prompts[i].Messages[j]
				m.Image = abs(m.Image)
				if m.Resource != nil {
					m.Resource.File = abs(m.Resource.File)
				}
			}
		}
		c.MCPServers[id] = s
	}
	for i := range c.Tools {
		t := &c.Tools[i]
		t.Module = abs(t.Module)
		grants(&t.Grants)
		if s, ok := t.InputSchema.(string); ok && !strings.HasPrefix(strings.TrimSpace(s), "{") {
			t.InputSchema = abs(s)
		}
	}
}

// Defaults returns the built-in configuration, before any file or
// environment is read.
func Defaults() *Config {
	k := koanf.New(".")
	cfg := &Config{}
	if err := k.Load(mapProvider(defaults()), nil); err != nil {
		panic(fmt.Sprintf("config: built-in defaults: %v", err)) // a bug, caught by the tests
	}
	if err := decode(k, cfg, true); err != nil {
		panic(fmt.Sprintf("config: built-in defaults: %v", err))
	}
	cfg.applyDerived(nil)
	return cfg
}

// applyDerived fills values that depend on other values or on the
// environment beyond a key's own variable.
func (c *Config) applyDerived(environ []string) {
	lookup := envLookup(environ)
	for id, a := range c.Agents {
		if a.Name == "" {
			a.Name = id
		}
		if wm := &a.WorkingMemory; wm.Enabled {
			if wm.Scope == "" {
				wm.Scope = "resource" // Mastra's default
			}
			if wm.Template == "" && wm.Schema == "" {
				wm.Template = DefaultWorkingMemoryTemplate
			}
		}
		if sr := &a.Memory.SemanticRecall; sr.Enabled {
			// Mastra's defaults.
			if sr.TopK == 0 {
				sr.TopK = 4
			}
			if sr.Scope == "" {
				sr.Scope = "resource"
			}
			r := 1
			if sr.MessageRange != nil {
				r = *sr.MessageRange
			}
			if sr.Before == nil {
				sr.Before = &r
			}
			if sr.After == nil {
				sr.After = &r
			}
			if len(a.Memory.Embedder) == 0 {
				a.Memory.Embedder = c.Memory.Embedder
			}
		}
		c.Agents[id] = a
	}
	for id, w := range c.Workflows {
		if w.StepTimeout == 0 {
			w.StepTimeout = defaultStepTimeout
		}
		if w.ChunkRetention == 0 {
			w.ChunkRetention = defaultChunkRetention
		}
		if w.MaxForeachItems == 0 {
			w.MaxForeachItems = defaultMaxForeachItems
		}
		eachStep(w.Steps, func(s *Step) {
			if s.Foreach != "" && s.Concurrency == 0 {
				s.Concurrency = 1
			}
			if (s.Until != "" || s.While != "") && s.MaxIterations == 0 {
				s.MaxIterations = defaultMaxIterations
			}
		})
		c.Workflows[id] = w
	}
	c.applyMCPDefaults(lookup)
	for i, t := range c.Server.Auth.Tokens {
		if t.Env != "" {
			c.Server.Auth.Tokens[i].Value = Secret(lookup(t.Env))
		}
	}
	for name, p := range c.Providers {
		if p.APIKeyEnv != "" {
			if v := lookup(p.APIKeyEnv); v != "" {
				p.APIKey = Secret(v)
				c.Providers[name] = p
			}
		}
	}
	// MASTRA_MODEL is the default agent's model, over the file's; a comma
	// separates fallbacks. AZURE_DEPLOYMENT (providers.azure.deployment)
	// is the model of agents that name none.
	if v := strings.TrimSpace(lookup("MASTRA_MODEL")); v != "" {
		if id := c.DefaultAgentID(); id != "" {
			a := c.Agents[id]
			a.Model = splitList(v)
			c.Agents[id] = a
		}
	}
	if dep := c.Providers["azure"].Deployment; dep != "" {
		for id, a := range c.Agents {
			if len(a.Model) == 0 {
				a.Model = ModelList{"azure/" + dep}
				c.Agents[id] = a
			}
		}
	}
}

// providerNames lists the providers the environment and the file layers
// configure ([providers.<name>]) or name in a model reference, registry
// aliases resolved to their names.
func providerNames(environ []string, layers ...*koanf.Koanf) []string {
	seen := map[string]bool{}
	add := func(ref string) {
		p, _, err := providers.ParseModelRef(ref)
		if err != nil {
			return
		}
		// A custom provider gets defaults from its own table only: a
		// reference to a name without one is an error Validate reports.
		if row, ok := providers.Lookup(p); ok {
			seen[row.Name] = true
		}
	}
	for _, ref := range splitList(envLookup(environ)("MASTRA_MODEL")) {
		add(ref)
	}
	for _, k := range layers {
		if k == nil {
			continue
		}
		raw := k.Raw()
		if ps, ok := raw["providers"].(map[string]any); ok {
			for name := range ps {
				seen[name] = true
			}
		}
		agents, _ := raw["agents"].(map[string]any)
		for _, a := range agents {
			am, _ := a.(map[string]any)
			switch m := am["model"].(type) {
			case string:
				for _, ref := range splitList(m) {
					add(ref)
				}
			case []any:
				for _, ref := range m {
					if s, ok := ref.(string); ok {
						add(s)
					}
				}
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func envLookup(environ []string) func(string) string {
	return func(name string) string {
		for i := len(environ) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}

func decode(k *koanf.Koanf, out *Config, strict bool) error {
	return k.UnmarshalWithConf("", out, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
				durationHook,
				byteSizeHook,
				stringToListHook,
				toolApprovalHook,
				mapstructure.TextUnmarshallerHookFunc(),
			),
			ErrorUnused:      strict,
			WeaklyTypedInput: !strict,
			TagName:          "koanf",
			Result:           out,
		},
	})
}

var durationType = reflect.TypeOf(time.Duration(0))

// durationHook reads every duration key. A bare number is milliseconds, as
// in Mastra (timeout = 10000 is ten seconds), whether it comes as a TOML
// number or as text from the environment; a string with a unit ("500ms",
// "30s", "2m") is read as Go spells it. Anything else is refused, so a
// number is never taken for nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case time.Duration:
		return v, nil
	case int64:
		return millis(float64(v), data)
	case int:
		return millis(float64(v), data)
	case float64:
		return millis(v, data)
	case string:
		s := strings.TrimSpace(v)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return millis(f, data)
		}
		if d, err := time.ParseDuration(s); err == nil {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%s is not a duration; %s", quote(data), durationHelp)
}

const durationHelp = `use milliseconds (30000) or a string with a unit ("500ms", "30s", "2m")`

// millis converts a number of milliseconds, refusing what a Duration cannot
// hold.
func millis(ms float64, data any) (time.Duration, error) {
	if math.IsNaN(ms) || math.Abs(ms) > float64(math.MaxInt64)/float64(time.Millisecond) {
		return 0, fmt.Errorf("%s is not a duration; %s", quote(data), durationHelp)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

var byteSizeType = reflect.TypeOf(ByteSize(0))

// byteSizeHook accepts integers (bytes) and strings with units.
func byteSizeHook(from, to reflect.Type, data any) (any, error) {
	if to != byteSizeType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return ParseByteSize(v)
	case int64:
		return ByteSize(v), nil
	case int:
		return ByteSize(v), nil
	case float64:
		return ByteSize(v), nil
	}
	return data, nil
}

var (
	stringSliceType = reflect.TypeOf([]string(nil))
	modelListType   = reflect.TypeOf(ModelList(nil))
)

// stringToListHook lets a comma-separated string fill a list, as
// ALLOWED_ORIGINS=https://a.com,https://b.com does, and a single model
// reference fill an agent's model list.
func stringToListHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || (to != stringSliceType && to != modelListType) {
		return data, nil
	}
	return splitList(s), nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fileErrors turns decoder errors into one line per problem, naming the file.
func fileErrors(path string, err error) error {
	var errs []error
	for _, line := range problemLines(err) {
		errs = append(errs, fmt.Errorf("%s: %s", path, line))
	}
	return errors.Join(errs...)
}

func envErrors(err error, envUsed map[string]string) error {
	var errs []error
	for _, line := range problemLines(err) {
		for key, name := range envUsed {
			if strings.HasPrefix(line, key+": ") {
				line += " (from environment variable " + name + ")"
				break
			}
		}
		errs = append(errs, errors.New("config: "+line))
	}
	return errors.Join(errs...)
}

// problemLines flattens mapstructure's joined errors into readable lines.
func problemLines(err error) []string {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasSuffix(l, "error(s) decoding:") {
			continue
		}
		l = strings.TrimPrefix(l, "* ")
		l = strings.TrimPrefix(l, "decoding failed due to the following error(s):")
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, rewordProblem(l))
		}
	}
	sort.Strings(lines)
	return lines
}

// mapKey matches mapstructure's spelling of a map key, "providers[openai]".
var mapKey = regexp.MustCompile(`\[([A-Za-z_-][A-Za-z0-9_-]*)\]`)

// rewordProblem makes mapstructure's messages read as "key: problem".
func rewordProblem(l string) string {
	if key, rest, ok := strings.Cut(l, " "); ok {
		l = mapKey.ReplaceAllString(key, ".$1") + " " + rest
	}
	if rest, ok := strings.CutPrefix(l, "'' has invalid keys: "); ok {
		return unknownKeys(strings.Split(rest, ", "))
	}
	if i := strings.Index(l, "' has invalid keys: "); strings.HasPrefix(l, "'") && i > 0 {
		parent := l[1:i]
		if parent == "config.Config" {
			// mapstructure v2.5 names the root by its Go type.
			return unknownKeys(strings.Split(l[i+len("' has invalid keys: "):], ", "))
		}
		var keys []string
		for _, k := range strings.Split(l[i+len("' has invalid keys: "):], ", ") {
			keys = append(keys, parent+"."+k)
		}
		return unknownKeys(keys)
	}
	// "'server.timeout' true is not a duration" → "server.timeout: true is …"
	if key, rest, ok := strings.Cut(strings.TrimPrefix(l, "'"), "' "); ok && strings.HasPrefix(l, "'") && !strings.Contains(key, " ") {
		return key + ": " + rest
	}
	return l
}

// corsAliases are Mastra's camelCase names of the [server.cors] keys (its
// server.cors options, passed to Hono's cors()), accepted in the file so a
// Mastra configuration carries over.
var corsAliases = map[string]string{
	"origin":        "origins",
	"allowMethods":  "allow_methods",
	"allowHeaders":  "allow_headers",
	"exposeHeaders": "expose_headers",
	"maxAge":        "max_age",
	// "credentials" is spelled alike.
}

// applyAliases rewrites Mastra's spellings in the file to ours before the
// strict decode. Both spellings of one key is an error, never a silent pick.
// A bare number in maxAge is seconds, as in Hono; with a unit it is read as
// every duration is.
func applyAliases(fk *koanf.Koanf) (*koanf.Koanf, error) {
	raw := fk.Raw()
	server, _ := raw["server"].(map[string]any)
	cors, _ := server["cors"].(map[string]any)
	changed := false
	for alias, key := range corsAliases {
		v, ok := cors[alias]
		if !ok {
			continue
		}
		if _, both := cors[key]; both {
			return nil, fmt.Errorf("server.cors.%s and server.cors.%s are the same setting (Mastra's name and ours): keep one", alias, key)
		}
		if alias == "maxAge" {
			switch n := v.(type) {
			case int64:
				v = strconv.FormatInt(n, 10) + "s"
			case float64:
				v = strconv.FormatFloat(n, 'f', -1, 64) + "s"
			}
		}
		delete(cors, alias)
		cors[key] = v
		changed = true
	}
	if !changed {
		return fk, nil
	}
	out := koanf.New(".")
	if err := out.Load(mapProvider(raw), nil); err != nil {
		return nil, fmt.Errorf("config: aliases: %w", err)
	}
	return out, nil
}

// mapProvider feeds a ready map to koanf.
type mapProvider map[string]any

func (m mapProvider) ReadBytes() ([]byte, error) { return nil, errors.New("not supported") }
func (m mapProvider) Read() (map[string]any, error) {
	return map[string]any(m), nil
}

func defaults() map[string]any {
	return map[string]any{
		"server": map[string]any{
			"host":                "0.0.0.0",
			"port":                4000,
			"timeout":             "30s",
			"body_limit":          "4.5MiB",
			"read_header_timeout": "10s",
			"body_timeout":        "30s",
			"idle_timeout":        "120s",
			"max_header_bytes":    "64KiB",
			"drain_timeout":       "10s",
			"keep_alive":          "15s",
			"cors": map[string]any{
				"origins":        []any{"*"},
				"allow_methods":  []any{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
				"allow_headers":  []any{"Content-Type", "Authorization", "x-mastra-client-type", "x-mastra-dev-playground"},
				"expose_headers": []any{"X-Thread-Id", "X-Resource-Id", "X-Run-Id", "X-Request-Id", "ETag"},
				"credentials":    false,
				"max_age":        "1h",
			},
			"auth": map[string]any{
				"enabled":   false,
				"protected": []any{"/*"},
				"public":    []any{"/health"},
				"jwt": map[string]any{
					"jwks_url":         "",
					"issuer":           "",
					"audience":         "",
					"resource_claim":   "sub",
					"algorithms":       []any{"RS256", "ES256", "EdDSA"},
					"leeway":           "30s",
					"jwks_max_age":     "1h",
					"jwks_min_refresh": "30s",
				},
			},
			"limits":     map[string]any{"requests_per_minute": 0, "tokens_per_minute": 0, "max_streams": 0},
			"metrics":    map[string]any{"enabled": true, "path": "/metrics", "listen": ""},
			"openapi":    true,
			"playground": false,
			"pprof_addr": "",
			"streams": map[string]any{
				"resumable":      false,
				"retention":      "10m",
				"lease":          "6s",
				"flush_interval": "200ms",
				"poll_interval":  "1s",
			},
		},
		"telemetry": map[string]any{"endpoint": "", "service_name": "mastra-server", "capture_content": false},
		"observability": map[string]any{"enabled": true, "retention": "168h", "capture_content": false,
			"queue_size": 10000, "batch_size": 500, "flush_interval": "1s"},
		"memory": map[string]any{
			"database_url":        "",
			"sqlite_path":         "mastra.db",
			"last_messages":       20,
			"default_resource_id": "default",
			"migrate":             true,
			"max_open_conns":      10,
			"max_save_messages":   1000,
			"bulk_write_share":    0.25,
			"pgvector":            true,
		},
		"log": map[string]any{"level": "info", "format": "text"},
		"providers": map[string]any{
			"openai": providerDefaults("openai", ""),
			"azure":  providerDefaults("azure", ""),
		},
		// The agent of a configuration that defines none.
		"agents": map[string]any{
			"assistant": map[string]any{
				"name":         "Assistant",
				"instructions": "You are a helpful assistant.",
			},
		},
		"plugins": map[string]any{
			"cache_dir":     ".cache/wasm",
			"timeout":       "100ms",
			"route_timeout": "30s",
			"memory_limit":  "64MiB",
			"min_instances": 1,
			"max_instances": 16,
			"max_response":  "16MiB",
			"kv_max_keys":   1000,
			"kv_max_bytes":  "10MiB",
		},
	}
}

// providerDefaults returns the defaults of [providers.<name>]: every
// provider's timeout and retries, a registry provider's base URL (or
// Azure's API version), and the Messages API settings of a provider of
// kind anthropic, the registry's or a custom one (kind is the table's).
func providerDefaults(name, kind string) map[string]any {
	d := map[string]any{"timeout": "60s", "max_retries": 2}
	k, _ := providers.KindOf(kind)
	if p, ok := providers.Lookup(name); ok && p.Name == name {
		k = p.Kind
		if p.Kind == providers.Azure {
			d["api_version"] = "2024-10-21"
		}
		if p.BaseURL != "" {
			d["base_url"] = p.BaseURL
		}
	}
	if k == providers.Anthropic {
		d["version"] = "2023-06-01"
		d["max_tokens"] = 4096
		d["cache"] = true
		d["thinking_budget"] = 0
	}
	return d
}

// configuredKind returns the kind the first layer that sets one gives
// [providers.<name>] ("" for none).
func configuredKind(name string, layers ...*koanf.Koanf) string {
	for _, k := range layers {
		if k == nil {
			continue
		}
		if ps, ok := k.Raw()["providers"].(map[string]any); ok {
			if p, ok := ps[name].(map[string]any); ok {
				if kind, ok := p["kind"].(string); ok && kind != "" {
					return kind
				}
			}
		}
	}
	return ""
}

var agentHeader = regexp.MustCompile(`(?m)^\s*\[\s*agents\.("?)([A-Za-z0-9_-]+)("?)\s*\]`)

// agentOrder reads the order of [agents.<id>] tables from the file text.
func agentOrder(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var ids []string
	for _, m := range agentHeader.FindAllStringSubmatch(string(b), -1) {
		ids = append(ids, m[2])
	}
	return ids
}

// eachStep calls fn on every step, parallel and branch entries included.
func eachStep(steps []Step, fn func(*Step)) {
	for i := range steps {
		fn(&steps[i])
		eachStep(steps[i].Parallel, fn)
		eachStep(steps[i].Branch, fn)
	}
}
