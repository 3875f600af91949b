package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/internal/providers"
)

var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	httpMethods  = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	routeMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "ALL"}
)

// Validate reports every problem in c, one error per line, each naming the
// key, the value and what is expected.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, value any, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s = %v: %s", key, quote(value), fmt.Sprintf(format, args...)))
	}

	s := c.Server
	if s.Port < 0 || s.Port > 65535 {
		bad("server.port", s.Port, "expected a port number between 1 and 65535")
	}
	if s.Timeout <= 0 {
		bad("server.timeout", s.Timeout, "expected a positive duration such as \"30s\"")
	}
	if s.BodyLimit <= 0 {
		bad("server.body_limit", s.BodyLimit, "expected a positive size such as \"4.5MiB\"")
	}
	if s.MaxHeaderBytes <= 0 {
		bad("server.max_header_bytes", s.MaxHeaderBytes, "expected a positive size such as \"64KiB\"")
	}
	if s.ReadHeaderTimeout <= 0 {
		bad("server.read_header_timeout", s.ReadHeaderTimeout, "expected a positive duration")
	}
	if s.BodyTimeout <= 0 {
		bad("server.body_timeout", s.BodyTimeout, "expected a positive duration such as \"30s\"")
	}
	if s.DrainTimeout < 0 {
		bad("server.drain_timeout", s.DrainTimeout, "expected zero or a positive duration")
	}
	if st := s.Streams; st.Retention <= 0 {
		bad("server.streams.retention", st.Retention, "expected a positive duration such as \"10m\"")
	}
	if st := s.Streams; st.Lease < 30*time.Millisecond {
		bad("server.streams.lease", st.Lease, "expected a duration of at least 30ms, such as \"6s\"")
	}
	if st := s.Streams; st.FlushInterval < 0 || st.FlushInterval >= st.Lease/3 {
		bad("server.streams.flush_interval", st.FlushInterval, "expected zero or a duration shorter than a third of server.streams.lease, such as \"200ms\"")
	}
	if st := s.Streams; st.PollInterval <= 0 {
		bad("server.streams.poll_interval", st.PollInterval, "expected a positive duration such as \"1s\"")
	}
	for _, o := range s.CORS.Origins {
		if o == "*" {
			if s.CORS.Credentials {
				bad("server.cors.origins", s.CORS.Origins, "\"*\" cannot be combined with server.cors.credentials = true; list the allowed origins")
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("server.cors.origins", o, "expected an origin such as \"https://app.example.com\" (scheme and host, no path) or \"*\"")
		}
	}
	for _, m := range s.CORS.AllowMethods {
		if !slices.Contains(httpMethods, strings.ToUpper(m)) {
			bad("server.cors.allow_methods", m, "expected one of %s", strings.Join(httpMethods, ", "))
		}
	}
	if m := s.Metrics; m.Enabled {
		if !strings.HasPrefix(m.Path, "/") || strings.ContainsAny(m.Path, " ?#*:") {
			bad("server.metrics.path", m.Path, "expected a path such as \"/metrics\"")
		} else if m.Listen == "" && (m.Path == "/health" || strings.HasPrefix(m.Path, "/api/")) {
			bad("server.metrics.path", m.Path, "clashes with the server's own routes; pick another path such as \"/metrics\"")
		}
		if m.Listen != "" {
			if _, port, err := net.SplitHostPort(m.Listen); err != nil || port == "" {
				bad("server.metrics.listen", m.Listen, "expected host:port such as \"127.0.0.1:9090\" (or \":9090\")")
			}
		}
	}
	if a := s.PprofAddr; a != "" {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			bad("server.pprof_addr", a, "expected host:port such as \"127.0.0.1:6060\"")
		} else if a == s.Addr() || (s.Metrics.Enabled && a == s.Metrics.Listen) {
			bad("server.pprof_addr", a, "is the API's or the metrics' address; the profiler needs its own, such as \"127.0.0.1:6060\"")
		}
	}
	if e := c.Telemetry.Endpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("telemetry.endpoint", e, "expected an OTLP/HTTP URL such as \"http://localhost:4318\"")
		}
	}
	if o := c.Observability; o.Enabled {
		if o.Retention < 0 {
			bad("observability.retention", o.Retention, "expected zero (keep forever) or a positive duration such as \"168h\"")
		}
		if o.QueueSize < 1 || o.QueueSize > 10_000_000 {
			bad("observability.queue_size", o.QueueSize, "expected 1 to 10000000 spans")
		}
		if o.BatchSize < 1 || o.BatchSize > 5000 {
			bad("observability.batch_size", o.BatchSize, "expected 1 to 5000 spans")
		}
		if o.FlushInterval <= 0 {
			bad("observability.flush_interval", o.FlushInterval, "expected a positive duration such as \"1s\"")
		}
	}
	if s.Auth.JWT.JWKSURL != "" && !s.Auth.Enabled {
		bad("server.auth.jwt.jwks_url", s.Auth.JWT.JWKSURL, "JWTs are configured but server.auth.enabled is false, so every request would go unchecked; set enabled = true")
	}
	if len(s.Auth.Tokens) > 0 && !s.Auth.Enabled {
		bad("server.auth.tokens", fmt.Sprintf("%d tokens", len(s.Auth.Tokens)), "tokens are configured but server.auth.enabled is false, so they would be ignored and every request go unchecked; set enabled = true")
	}
	if s.Auth.Enabled {
		if len(s.Auth.Tokens) == 0 && s.Auth.JWT.JWKSURL == "" {
			bad("server.auth.tokens", "[]", "auth is enabled but no tokens are configured; add [[server.auth.tokens]] with env, user and resource_id, or [server.auth.jwt]")
		}
		for i, t := range s.Auth.Tokens {
			key := fmt.Sprintf("server.auth.tokens[%d]", i)
			switch {
			case t.Env == "":
				bad(key+".env", "", "expected the name of the environment variable that holds the token")
			case t.Value == "":
				bad(key+".env", t.Env, "environment variable %s is not set or empty", t.Env)
			}
			if t.User == "" {
				bad(key+".user", "", "expected a user name")
			}
			switch {
			case t.Admin && t.ResourceID != "":
				bad(key+".resource_id", t.ResourceID, "an admin token is not confined to a resource; remove resource_id or admin")
			case !t.Admin && t.ResourceID == "":
				bad(key+".resource_id", "", "expected the resource (tenant) this token's requests are confined to (or admin = true)")
			}
		}
		c.validateTokens(bad)
	}
	badLimit := func(key string, v *int) {
		if v != nil && *v < 0 {
			bad(key, *v, "expected 0 (no limit) or a positive number")
		}
	}
	badLimit("server.limits.requests_per_minute", &s.Limits.RequestsPerMinute)
	badLimit("server.limits.tokens_per_minute", &s.Limits.TokensPerMinute)
	badLimit("server.limits.max_streams", &s.Limits.MaxStreams)
	users := map[string]bool{}
	for i, t := range s.Auth.Tokens {
		if t.Limits == nil {
			continue
		}
		key := fmt.Sprintf("server.auth.tokens[%d].limits", i)
		badLimit(key+".requests_per_minute", t.Limits.RequestsPerMinute)
		badLimit(key+".tokens_per_minute", t.Limits.TokensPerMinute)
		badLimit(key+".max_streams", t.Limits.MaxStreams)
		if users[t.User] {
			bad(fmt.Sprintf("server.auth.tokens[%d].user", i), t.User, "tokens with their own limits need distinct users (the limits are found by user)")
		}
		users[t.User] = true
	}
	for _, p := range append(append([]string{}, s.Auth.Protected...), s.Auth.Public...) {
		if !strings.HasPrefix(p, "/") {
			bad("server.auth", p, "path patterns must start with \"/\"")
		}
	}

	m := c.Memory
	if m.DatabaseURL != "" {
		u, err := url.Parse(string(m.DatabaseURL))
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("memory.database_url", m.DatabaseURL, "expected a postgres:// or postgresql:// URL, or empty for the embedded SQLite file")
		}
	} else if m.SQLitePath == "" {
		bad("memory.sqlite_path", "", "expected a file path (memory.database_url is empty, so SQLite is used)")
	}
	if m.LastMessages < 0 {
		bad("memory.last_messages", m.LastMessages, "expected zero or a positive number")
	}
	if m.DefaultResourceID == "" {
		bad("memory.default_resource_id", "", "expected a resource id used when a request names none")
	}
	if m.MaxOpenConns < 1 {
		bad("memory.max_open_conns", m.MaxOpenConns, "expected at least 1")
	}
	if m.MaxSaveMessages < 1 {
		bad("memory.max_save_messages", m.MaxSaveMessages, "expected at least 1")
	}
	if !(m.BulkWriteShare > 0 && m.BulkWriteShare <= 1) {
		bad("memory.bulk_write_share", m.BulkWriteShare, "expected a fraction of memory.max_open_conns above 0 and at most 1")
	}

	c.validateProviders(bad)
	c.validateInert(bad)

	if !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(c.Log.Level)) {
		bad("log.level", c.Log.Level, "expected debug, info, warn or error")
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", c.Log.Format, "expected text or json")
	}

	toolNames := map[string]bool{}
	for i, t := range c.Tools {
		key := fmt.Sprintf("tools[%d]", i)
		if !idPattern.MatchString(t.Name) {
			bad(key+".name", t.Name, "expected a name of letters, digits, '_' or '-'")
		} else if toolNames[t.Name] {
			bad(key+".name", t.Name, "another tool has this name")
		}
		toolNames[t.Name] = true
		validatePlugin(bad, key, t.Module, t.PluginLimits, t.Grants, c.Workflows)
	}

	defaults := 0
	ids := make([]string, 0, len(c.Agents))
	for id := range c.Agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := c.Agents[id]
		key := "agents." + id
		if !idPattern.MatchString(id) {
			bad(key, id, "agent ids use letters, digits, '_' or '-'")
		}
		if a.Default {
			defaults++
		}
		anthropic := false // whether a model of the list speaks the Messages API
		for _, ref := range a.Model {
			if p, _, err := providers.ParseModelRef(ref); err != nil {
				bad(key+".model", ref, "%v", err)
			} else if pr, _, ok := c.Provider(p); !ok {
				bad(key+".model", ref, "unknown provider %q; expected one of %s, or a [providers.%s] table with kind and base_url",
					p, strings.Join(providers.Names(), ", "), p)
			} else if pr.Kind == providers.Anthropic {
				anthropic = true
			}
		}
		if anthropic {
			// Anthropic has no such fields, and an agent's settings go to
			// each model of its list: refuse at start, not on each turn.
			for _, s := range []struct {
				name string
				set  bool
			}{{"seed", a.Seed != nil}, {"presence_penalty", a.PresencePenalty != nil}, {"frequency_penalty", a.FrequencyPenalty != nil}} {
				if s.set {
					bad(key+"."+s.name, strings.Join(a.Model, ", "), "Anthropic models have no %s setting", s.name)
				}
			}
		} else if a.ThinkingBudget != nil || a.Cache != nil {
			bad(key+".thinking_budget", strings.Join(a.Model, ", "), "thinking_budget and cache apply to Anthropic models only")
		}
		if a.ThinkingBudget != nil && *a.ThinkingBudget != 0 && *a.ThinkingBudget < 1024 {
			bad(key+".thinking_budget", *a.ThinkingBudget, "expected 0 (off) or at least 1024 tokens")
		}
		if a.MaxSteps < 0 {
			bad(key+".max_steps", a.MaxSteps, "expected zero (the default) or a positive number")
		}
		between := func(name string, v *float64, lo, hi float64) {
			if v != nil && !(*v >= lo && *v <= hi) {
				bad(key+"."+name, *v, "expected a number from %g to %g", lo, hi)
			}
		}
		between("temperature", a.Temperature, 0, 2)
		between("top_p", a.TopP, 0, 1)
		between("presence_penalty", a.PresencePenalty, -2, 2)
		between("frequency_penalty", a.FrequencyPenalty, -2, 2)
		if a.MaxTokens != nil && *a.MaxTokens < 1 {
			bad(key+".max_tokens", *a.MaxTokens, "expected a positive number of tokens")
		}
		if len(a.Stop) > 4 {
			bad(key+".stop", a.Stop, "expected at most 4 stop sequences")
		}
		if slices.Contains(a.Stop, "") {
			bad(key+".stop", a.Stop, "expected non-empty stop sequences")
		}
		if a.LastMessages < -1 {
			bad(key+".last_messages", a.LastMessages, "expected -1 (no history), 0 (memory.last_messages) or a positive number")
		}
		for _, t := range a.Tools {
			if c.validateMCPToolRef(bad, key, t) {
				continue
			}
			if !toolNames[t] {
				bad(key+".tools", t, "no [[tools]] entry has this name")
			}
		}
		validateWorkingMemory(bad, key+".working_memory", a.WorkingMemory)
		validateSemanticRecall(bad, key+".memory", a.Memory)
		if a.TitleModel != "" {
			if p, _, err := providers.ParseModelRef(a.TitleModel); err != nil {
				bad(key+".title_model", a.TitleModel, "%v", err)
			} else if _, ok := providers.Lookup(p); !ok {
				bad(key+".title_model", a.TitleModel, "unknown provider %q; expected one of %s", p, strings.Join(providers.Names(), ", "))
			}
		}
	}
	if defaults > 1 {
		bad("agents", ids, "more than one agent has default = true")
	}
	c.validateSubAgents(bad, ids)
	c.validateWorkflows(bad, toolNames)
	c.validateMCPServers(bad)
	c.validateMCPClients(bad)
	for name := range c.Vectors {
		if !validStoreName(name) {
			bad("vectors."+name, name, "expected a store name of letters, digits, _ and -, at most 64")
		}
	}

	if c.Plugins.Timeout <= 0 || c.Plugins.RouteTimeout <= 0 {
		bad("plugins.timeout", c.Plugins.Timeout, "plugins.timeout and plugins.route_timeout must be positive durations")
	}
	if c.Plugins.MaxInstances < 1 || c.Plugins.MinInstances < 0 || c.Plugins.MinInstances > c.Plugins.MaxInstances {
		bad("plugins.max_instances", c.Plugins.MaxInstances, "expected 0 <= min_instances <= max_instances and max_instances >= 1")
	}
	if c.Plugins.MaxResponse < minMaxResponse {
		bad("plugins.max_response", c.Plugins.MaxResponse, "expected at least 1KiB")
	}
	if c.Plugins.KVMaxKeys < 1 {
		bad("plugins.kv_max_keys", c.Plugins.KVMaxKeys, "expected at least 1")
	}
	if c.Plugins.KVMaxBytes < 1 {
		bad("plugins.kv_max_bytes", c.Plugins.KVMaxBytes, "expected at least 1 byte")
	}
	mwNames := map[string]bool{}
	for i, mw := range c.Middleware {
		key := fmt.Sprintf("middleware[%d]", i)
		if mw.Name == "" {
			bad(key+".name", "", "expected a name")
		} else if mwNames[mw.Name] {
			bad(key+".name", mw.Name, "another middleware has this name")
		}
		mwNames[mw.Name] = true
		if mw.Path != "" && !strings.HasPrefix(mw.Path, "/") {
			bad(key+".path", mw.Path, "expected a path pattern starting with \"/\", such as \"/api/*\"")
		}
		for _, meth := range mw.Methods {
			if meth != "*" && !slices.Contains(httpMethods, strings.ToUpper(meth)) {
				bad(key+".methods", meth, "expected HTTP methods such as GET or POST, or \"*\"")
			}
		}
		validatePlugin(bad, key, mw.Module, mw.PluginLimits, mw.Grants, c.Workflows)
	}
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if !slices.Contains(routeMethods, strings.ToUpper(r.Method)) {
			bad(key+".method", r.Method, "expected one of %s", strings.Join(routeMethods, ", "))
		}
		if !strings.HasPrefix(r.Path, "/") {
			bad(key+".path", r.Path, "expected a path starting with \"/\" (httprouter syntax, e.g. \"/hello/:name\")")
		}
		for _, name := range r.Middleware {
			if !mwNames[name] {
				bad(key+".middleware", name, "no [[middleware]] entry has this name")
			}
		}
		validatePlugin(bad, key, r.Module, r.PluginLimits, r.Grants, c.Workflows)
	}
	c.validateScorers(bad)
	return errors.Join(errs...)
}

// validatePlugin checks what every plugin entry ([[middleware]], [[routes]],
// [[tools]]) has: its module file, its limits and its grants.
func validatePlugin(bad func(string, any, string, ...any), key, module string, l PluginLimits, g Grants, workflows map[string]Workflow) {
	if module == "" {
		bad(key+".module", "", "expected the path of a .wasm file")
	} else if st, err := os.Stat(module); err != nil || st.IsDir() {
		bad(key+".module", module, "no such file; build the plugins with scripts/build-plugins.sh "+
			"(a relative module path is resolved against the configuration file's directory)")
	}
	if l.Timeout < 0 {
		bad(key+".timeout", l.Timeout, "expected a positive duration")
	}
	if l.MemoryLimit < 0 || (l.MemoryLimit > 0 && l.MemoryLimit < 64<<10) {
		bad(key+".memory_limit", l.MemoryLimit, "expected at least 64KiB")
	}
	if l.MinInstances < 0 || l.MaxInstances < 0 || (l.MaxInstances > 0 && l.MinInstances > l.MaxInstances) {
		bad(key+".max_instances", l.MaxInstances, "expected 0 <= min_instances <= max_instances")
	}
	if l.MaxResponse < 0 || (l.MaxResponse > 0 && l.MaxResponse < minMaxResponse) {
		bad(key+".max_response", l.MaxResponse, "expected at least 1KiB")
	}
	if l.KVMaxKeys < 0 {
		bad(key+".kv_max_keys", l.KVMaxKeys, "expected a positive number")
	} else if l.KVMaxKeys > 0 && !g.KV {
		bad(key+".kv_max_keys", l.KVMaxKeys, "the key-value quota needs kv = true")
	}
	if l.KVMaxBytes < 0 {
		bad(key+".kv_max_bytes", l.KVMaxBytes, "expected a positive size")
	} else if l.KVMaxBytes > 0 && !g.KV {
		bad(key+".kv_max_bytes", l.KVMaxBytes, "the key-value quota needs kv = true")
	}
	// Mounts were parsed when the file was read; what is left to check is
	// that the host directory exists.
	for _, m := range g.Mounts {
		if st, err := os.Stat(m.Host); err != nil || !st.IsDir() {
			bad(key+".mounts", m.String(), "host directory %s does not exist", m.Host)
		}
	}
	for _, id := range g.Workflows {
		if _, ok := workflows[id]; !ok && id != "*" {
			bad(key+".workflows", id, "no [workflows.%s] is configured (list workflow ids, or \"*\" for all)", id)
		}
	}
	for _, name := range g.Env {
		if name == "" || strings.ContainsAny(name, "= ") {
			bad(key+".env", name, "expected the name of an environment variable")
		}
	}
}

// minMaxResponse is the smallest max_response: below it even an error
// answer would not fit.
const minMaxResponse = 1 << 10

// DefaultAgentID returns the agent that serves /agent/*: the one marked
// default, else the first declared in the file, else the first by name.
func (c *Config) DefaultAgentID() string {
	ids := make([]string, 0, len(c.Agents))
	for id, a := range c.Agents {
		if a.Default {
			return id
		}
		ids = append(ids, id)
	}
	for _, id := range c.AgentOrder {
		if _, ok := c.Agents[id]; ok {
			return id
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

func quote(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case Secret:
		return fmt.Sprintf("%q", x.String())
	case []string:
		return fmt.Sprintf("%q", x)
	case fmt.Stringer:
		return fmt.Sprintf("%q", x.String())
	}
	return fmt.Sprint(v)
}

// validateSubAgents checks the agents = [...] of each agent (ids sorted):
// agents that exist, named once, a memory mode each, no sub-agent that
// would wait for a tool approval (a delegation cannot ask for one yet),
// and no cycle.
func (c *Config) validateSubAgents(bad func(key string, value any, format string, args ...any), ids []string) {
	approval := map[string]bool{}
	for _, t := range c.Tools {
		approval[t.Name] = t.RequireApproval
	}
	ok := true
	for _, id := range ids {
		a := c.Agents[id]
		key := "agents." + id
		seen := map[string]bool{}
		for _, sub := range a.Agents {
			sa, exists := c.Agents[sub]
			switch {
			case !exists:
				bad(key+".agents", sub, "no [agents.%s] table", sub)
				ok = false
			case seen[sub]:
				bad(key+".agents", sub, "named twice")
			case slices.Contains(a.Tools, "agent-"+sub):
				bad(key+".agents", sub, "a tool of the agent is named agent-%s already", sub)
			case sa.RequireApproval || slices.ContainsFunc(sa.Tools, func(t string) bool { return approval[t] }):
				bad(key+".agents", sub, "agent %s has tools that wait for approval, which a delegation cannot ask for", sub)
			}
			seen[sub] = true
		}
		seenWF := map[string]bool{}
		for _, wf := range a.Workflows {
			switch _, exists := c.Workflows[wf]; {
			case !exists:
				bad(key+".workflows", wf, "no [workflows.%s] table", wf)
				ok = false
			case seenWF[wf]:
				bad(key+".workflows", wf, "named twice")
			case slices.Contains(a.Tools, "workflow-"+wf):
				bad(key+".workflows", wf, "a tool of the agent is named workflow-%s already", wf)
			}
			seenWF[wf] = true
		}
		for sub, mode := range a.SubAgentMemory {
			if !seen[sub] {
				bad(key+".sub_agent_memory."+sub, mode, "%s is not in agents.%s.agents", sub, id)
			} else if mode != "isolated" && mode != "shared" {
				bad(key+".sub_agent_memory."+sub, mode, "expected isolated or shared")
			}
		}
	}
	if !ok {
		return
	}
	if cycle := c.delegationCycle(ids); cycle != nil {
		key, next := "agents."+cycle[0]+".agents", cycle[1]
		if wf, ok := strings.CutPrefix(next, "workflow:"); ok {
			key, next = "agents."+cycle[0]+".workflows", wf
		}
		bad(key, next, "delegation cycle %s", strings.Join(cycle, " → "))
	}
}

// delegationCycle returns a cycle (a, b, a) of agents delegating to
// agents and running workflows, and of workflows whose steps run agents
// and workflows, walked from the agents ids in order; nil when there is
// none. A workflow is spelled "workflow:<id>" in it.
func (c *Config) delegationCycle(ids []string) []string {
	edges := func(node string) []string {
		if wf, ok := strings.CutPrefix(node, "workflow:"); ok {
			var out []string
			var walk func(steps []Step)
			walk = func(steps []Step) {
				for _, s := range steps {
					if s.Agent != "" {
						out = append(out, s.Agent)
					}
					if s.Workflow != "" {
						out = append(out, "workflow:"+s.Workflow)
					}
					walk(s.Parallel)
					walk(s.Branch)
				}
			}
			walk(c.Workflows[wf].Steps)
			return out
		}
		a := c.Agents[node]
		out := slices.Clone(a.Agents)
		for _, wf := range a.Workflows {
			out = append(out, "workflow:"+wf)
		}
		return out
	}
	return findCycle(edges, ids)
}

// findCycle returns a cycle of the graph edges gives, walked from ids in
// order; nil when there is none.
func findCycle(edges func(string) []string, ids []string) []string {
	done := map[string]bool{}
	var path []string
	var walk func(id string) []string
	walk = func(id string) []string {
		if i := slices.Index(path, id); i >= 0 {
			return append(slices.Clone(path[i:]), id)
		}
		if done[id] {
			return nil
		}
		path = append(path, id)
		for _, sub := range edges(id) {
			if c := walk(sub); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		done[id] = true
		return nil
	}
	for _, id := range ids {
		if c := walk(id); c != nil {
			return c
		}
	}
	return nil
}

// validateSemanticRecall checks [agents.<id>.memory] (after the defaults:
// the embedder is the agent's or memory.embedder).
func validateSemanticRecall(bad func(string, any, string, ...any), key string, m AgentMemory) {
	sr := m.SemanticRecall
	if !sr.Enabled {
		return
	}
	if len(m.Embedder) == 0 {
		bad(key+".embedder", "", "semantic recall needs an embedding model: set embedder = \"openai/text-embedding-3-small\" here or in [memory] (\"echo\" for the offline one)")
	}
	for _, ref := range m.Embedder {
		p, _, err := providers.ParseModelRef(ref)
		if err != nil {
			bad(key+".embedder", ref, "%v", err)
			continue
		}
		if row, ok := providers.Lookup(p); ok && row.Kind == providers.Anthropic {
			bad(key+".embedder", ref, "%s has no embeddings API; use an OpenAI-compatible or Azure provider", p)
		}
	}
	key += ".semantic_recall"
	if sr.TopK < 1 || sr.TopK > 100 {
		bad(key+".top_k", sr.TopK, "expected 1 to 100")
	}
	for _, r := range []struct {
		name string
		v    *int
	}{{"message_range", sr.MessageRange}, {"before", sr.Before}, {"after", sr.After}} {
		if r.v != nil && (*r.v < 0 || *r.v > 50) {
			bad(key+"."+r.name, *r.v, "expected 0 to 50 messages")
		}
	}
	if sr.Scope != "resource" && sr.Scope != "thread" {
		bad(key+".scope", sr.Scope, "expected \"resource\" or \"thread\"")
	}
	if t := sr.Threshold; t != nil && !(*t >= 0 && *t <= 1) {
		bad(key+".threshold", *t, "expected a similarity from 0 to 1")
	}
	if sr.Index != "" && !validIndexName(sr.Index) {
		bad(key+".index", sr.Index, "expected letters, digits and _, not starting with a digit, at most 63")
	}
	if sr.Dimensions < 0 {
		bad(key+".dimensions", sr.Dimensions, "expected 0 (the model's own) or a positive number")
	}
}

// validStoreName is a [vectors.<name>] name: a path segment of
// /api/vector/<name>/….
func validStoreName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// validIndexName is Mastra's rule for vector index names.
func validIndexName(name string) bool {
	if len(name) > 63 {
		return false
	}
	for i, r := range name {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return name != ""
}

// validateWorkingMemory checks [agents.<id>.working_memory].
func validateWorkingMemory(bad func(string, any, string, ...any), key string, wm WorkingMemory) {
	if wm.Scope != "" && wm.Scope != "resource" && wm.Scope != "thread" {
		bad(key+".scope", wm.Scope, "expected \"resource\" or \"thread\"")
	}
	if wm.Schema == "" {
		return
	}
	if wm.Template != "" {
		bad(key+".schema", "(set)", "set template (Markdown) or schema (JSON), not both")
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(wm.Schema), &schema); err != nil {
		bad(key+".schema", "(not JSON)", "expected a JSON Schema as JSON text: %v", err)
		return
	}
	if schema["type"] != "object" {
		bad(key+".schema", schema["type"], "expected an object schema (\"type\": \"object\"): the working memory is a JSON object")
	}
}
