package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/server"
)

// plugins is what [[middleware]], [[routes]] and [[tools]] load into.
type plugins struct {
	host       *plugin.Host
	middleware []server.Middleware
	routes     []server.Route
	tools      map[string]agent.Tool
	steps      map[string]*plugin.Plugin // workflows' Wasm step modules, by "workflow/step"
	files      map[*plugin.Plugin]string // each plugin's module file, for dev-mode reloads
}

// loadPlugins is phase 1 of Build: it compiles and instantiates every
// [[middleware]], [[routes]] and [[tools]] entry, and turns the entries into
// the middleware chain (a middleware without a path runs on "/api/*", or
// only on the routes that list it when some do), the routes (each with the
// middleware it lists, after the chain, in its order; routes with equal
// module, settings and resource share one plugin) and the tools. agents
// answers the plugins' agent calls once phase 2 has bound it.
func loadPlugins(ctx context.Context, cfg *config.Config, log *slog.Logger, agents plugin.AgentCaller, data plugin.DataCaller, kv plugin.KV, obs plugin.Observer) (*plugins, error) {
	moduleSteps := workflowModuleSteps(cfg)
	if len(cfg.Middleware)+len(cfg.Routes)+len(cfg.Tools)+len(moduleSteps) == 0 {
		return &plugins{tools: map[string]agent.Tool{}, steps: map[string]*plugin.Plugin{}}, nil
	}
	if err := kvNamesDistinct(cfg); err != nil {
		return nil, err
	}
	host, err := plugin.New(ctx, plugin.Config{CacheDir: cfg.Plugins.CacheDir, Logger: log, Agents: agents, Data: data, KV: kv, Observer: obs})
	if err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	ps := &plugins{host: host, tools: map[string]agent.Tool{}, steps: map[string]*plugin.Plugin{}, files: map[*plugin.Plugin]string{}}

	// Plugins are compiled and instantiated in parallel: a standard-Go
	// guest takes on the order of 100 ms to start, and start-up time counts.
	type pending struct {
		what, name, module string
		p                  *plugin.Plugin
		err                error
		done               chan struct{}
	}
	start := func(what, name, module string, kind plugin.Kind, conf map[string]any, limits config.PluginLimits,
		grants config.Grants, defTimeout time.Duration, maxBody config.ByteSize, resource string) *pending {
		pd := &pending{what: what, name: name, module: module, done: make(chan struct{})}
		go func() {
			defer close(pd.done)
			spec, err := pluginSpec(cfg, name, module, kind, conf, limits, grants, defTimeout, maxBody)
			spec.ResourceID = resource
			if err != nil {
				pd.err = err
				return
			}
			warnUnsetEnv(log, what, name, grants.Env)
			began := time.Now()
			pd.p, pd.err = host.Load(ctx, spec)
			if pd.err == nil {
				log.Debug("plugin loaded", "kind", what, "plugin", name, "module", module, "took", time.Since(began))
			}
		}()
		return pd
	}
	mws := make([]*pending, len(cfg.Middleware))
	for i, mw := range cfg.Middleware {
		mws[i] = start("middleware", mw.Name, mw.Module, plugin.Middleware, mw.Config, mw.PluginLimits, mw.Grants,
			cfg.Plugins.Timeout, 0, mw.ResourceID)
	}
	routes := make([]*pending, len(cfg.Routes))
	names := make([]string, len(cfg.Routes))
	// Routes with the same module and the same settings, resource included
	// (e.g. GET and POST of one handler given one resource_id), share one
	// plugin: one pool, one compiled module.
	same := map[string]*pending{}
	for i, r := range cfg.Routes {
		var res, key string
		names[i], res, key = routeIdentity(r)
		if pd, ok := same[key]; ok {
			routes[i] = pd
			continue
		}
		routes[i] = start("route", names[i], r.Module, plugin.Route, r.Config, r.PluginLimits, r.Grants,
			cfg.Plugins.RouteTimeout, r.MaxBody, res)
		same[key] = routes[i]
	}
	tools := make([]*pending, len(cfg.Tools))
	for i, t := range cfg.Tools {
		tools[i] = start("tool", t.Name, t.Module, plugin.Tool, t.Config, t.PluginLimits, t.Grants,
			cfg.Plugins.RouteTimeout, 0, t.ResourceID)
	}
	steps := make([]*pending, len(moduleSteps))
	for i, ms := range moduleSteps {
		// A call is bounded by the step's timeout, as the step is.
		steps[i] = start("workflow step", ms.key, ms.step.Wasm, plugin.Tool, ms.step.Config, config.PluginLimits{Timeout: ms.timeout},
			config.Grants{}, ms.timeout, 0, "")
	}
	var errs []error
	waited := map[*pending]bool{}
	wait := func(pd *pending) *plugin.Plugin {
		<-pd.done
		if waited[pd] { // a shared plugin: reported and recorded once
			return pd.p
		}
		waited[pd] = true
		if pd.err != nil {
			errs = append(errs, fmt.Errorf("%s %q (%s): %w", pd.what, pd.name, pd.module, pd.err))
			return nil
		}
		ps.files[pd.p] = pd.module
		return pd.p
	}

	routeOnly := map[string]bool{}
	for _, r := range cfg.Routes {
		for _, m := range r.Middleware {
			routeOnly[m] = true
		}
	}
	named := map[string]func(http.Handler) http.Handler{} // route-level wrappers
	for i, mw := range cfg.Middleware {
		p := wait(mws[i])
		if p == nil {
			continue
		}
		named[mw.Name] = p.Middleware
		path := mw.Path
		if path == "" && routeOnly[mw.Name] {
			continue // runs only on the routes that list it
		}
		if path == "" {
			path = "/api/*"
		}
		wrap := p.Middleware
		if routeOnly[mw.Name] {
			// In the global chain and listed on a route: it runs once.
			// The chain marks the request when it ran the middleware,
			// and the route skips it then; a request the chain's path or
			// methods did not match gets it on the route.
			wrap = markRan(mw.Name, p.Middleware)
			named[mw.Name] = unlessRan(mw.Name, p.Middleware)
		}
		methods := make([]string, len(mw.Methods))
		for i, m := range mw.Methods {
			methods[i] = strings.ToUpper(m)
		}
		ps.middleware = append(ps.middleware, server.Middleware{Name: mw.Name, Path: path, Methods: methods, Wrap: wrap})
	}
	for i, r := range cfg.Routes {
		p := wait(routes[i])
		if p == nil {
			continue
		}
		h := p.Handler()
		for j := len(r.Middleware) - 1; j >= 0; j-- {
			if wrap := named[r.Middleware[j]]; wrap != nil {
				h = wrap(h)
			}
		}
		ps.routes = append(ps.routes, server.Route{Name: names[i], Method: strings.ToUpper(r.Method), Path: r.Path, Handler: h})
	}
	for i, t := range cfg.Tools {
		p := wait(tools[i])
		if p == nil {
			continue
		}
		tool, err := newWasmTool(t, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("tool %q: %w", t.Name, err))
			continue
		}
		ps.tools[t.Name] = tool
	}
	for i, ms := range moduleSteps {
		if p := wait(steps[i]); p != nil {
			ps.steps[ms.key] = p
		}
	}
	if err := errors.Join(errs...); err != nil {
		host.Close(ctx)
		return nil, err
	}
	return ps, nil
}

// ranKey marks, in a request's context, that the global chain ran the
// middleware of that name.
type ranKey struct{ name string }

// markRan wraps a global middleware so that the request it passes on
// records that it ran.
func markRan(name string, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ranKey{name}, true)))
		}))
	}
}

// unlessRan wraps a route with a middleware the global chain may have run
// already: then the route goes straight on.
func unlessRan(name string, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		wrapped := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Context().Value(ranKey{name}) != nil {
				next.ServeHTTP(w, r)
				return
			}
			wrapped.ServeHTTP(w, r)
		})
	}
}

func pluginSpec(cfg *config.Config, name, module string, kind plugin.Kind, conf map[string]any, limits config.PluginLimits,
	grants config.Grants, defTimeout time.Duration, maxBody config.ByteSize) (plugin.Spec, error) {
	spec := plugin.Spec{
		Name: name, Kind: kind, Module: module,
		Timeout:      firstDuration(limits.Timeout, defTimeout),
		MemoryLimit:  uint64(firstSize(limits.MemoryLimit, cfg.Plugins.MemoryLimit)),
		MinInstances: firstInt(limits.MinInstances, cfg.Plugins.MinInstances),
		MaxInstances: firstInt(limits.MaxInstances, cfg.Plugins.MaxInstances),
		MaxBody:      int64(maxBody),
		MaxResponse:  int64(firstSize(limits.MaxResponse, cfg.Plugins.MaxResponse)),
		KVMaxKeys:    firstInt(limits.KVMaxKeys, cfg.Plugins.KVMaxKeys),
		KVMaxBytes:   int64(firstSize(limits.KVMaxBytes, cfg.Plugins.KVMaxBytes)),
		Grants: plugin.Grants{Env: grants.Env, Agents: grants.Agents, KV: grants.KV,
			Workflows: grants.Workflows, Threads: grants.Threads},
	}
	if spec.MinInstances > spec.MaxInstances {
		spec.MinInstances = spec.MaxInstances
	}
	if conf == nil {
		conf = map[string]any{}
	}
	b, err := json.Marshal(conf)
	if err != nil {
		return spec, fmt.Errorf("config: %w", err)
	}
	spec.Config = b
	for _, m := range grants.Mounts { // parsed and checked by config
		spec.Grants.Mounts = append(spec.Grants.Mounts, plugin.Mount{HostPath: m.Host, GuestPath: m.Guest, ReadOnly: m.ReadOnly})
	}
	return spec, nil
}

func firstDuration(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

func firstSize(a, b config.ByteSize) config.ByteSize {
	if a > 0 {
		return a
	}
	return b
}

func firstInt(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

// watch reloads a plugin when its .wasm file changes (dev mode). Requests
// in flight finish on the old instances.
func (ps *plugins) watch(ctx context.Context, log *slog.Logger, every time.Duration) {
	mtimes := map[*plugin.Plugin]time.Time{}
	for p, f := range ps.files {
		if st, err := os.Stat(f); err == nil {
			mtimes[p] = st.ModTime()
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for p, f := range ps.files {
			st, err := os.Stat(f)
			if err != nil || !st.ModTime().After(mtimes[p]) {
				continue
			}
			mtimes[p] = st.ModTime()
			if err := p.Reload(ctx); err != nil {
				log.Error("plugin reload failed; the previous module keeps serving", "plugin", p.Name(), "module", f, "err", err)
				continue
			}
			log.Info("plugin reloaded", "plugin", p.Name(), "module", f)
		}
	}
}

func (ps *plugins) close(ctx context.Context) {
	if ps.host != nil {
		ps.host.Close(ctx)
	}
}

// routeIdentity returns a route's plugin name, the resource its agent calls
// default to, and the key under which routes with the same module and
// settings share one plugin.
func routeIdentity(r config.Route) (name, res, key string) {
	name = r.PluginName()
	res = config.FallbackResource(r.ResourceID, name)
	b, _ := json.Marshal([]any{r.Module, r.Config, r.PluginLimits, r.Grants, r.MaxBody, res})
	return name, res, string(b)
}

// kvNamesDistinct refuses two different plugins with the kv grant under one
// name: a plugin's name is its key-value namespace, so they would read and
// overwrite each other's keys. Routes that share one plugin are one plugin.
func kvNamesDistinct(cfg *config.Config) error {
	owner := map[string]string{} // plugin name -> the entry holding it
	var errs []error
	claim := func(name, entry string) {
		if prev, ok := owner[name]; ok && prev != entry {
			errs = append(errs, fmt.Errorf("plugins: %s and %s are different plugins with the kv grant and the same name %q; "+
				"a plugin's name is its key-value namespace, so give each its own name", prev, entry, name))
			return
		}
		owner[name] = entry
	}
	for i, mw := range cfg.Middleware {
		if mw.Grants.KV {
			claim(mw.Name, fmt.Sprintf("middleware[%d]", i))
		}
	}
	first := map[string]int{} // route key -> the first route with it
	for i, r := range cfg.Routes {
		name, _, key := routeIdentity(r)
		if _, ok := first[key]; !ok {
			first[key] = i
		}
		if r.Grants.KV {
			claim(name, fmt.Sprintf("routes[%d]", first[key]))
		}
	}
	for i, t := range cfg.Tools {
		if t.Grants.KV {
			claim(t.Name, fmt.Sprintf("tools[%d]", i))
		}
	}
	return errors.Join(errs...)
}

// all lists the loaded plugins by name, one per name (routes with equal
// settings share one), for the pool metrics.
func (ps *plugins) all() []*plugin.Plugin {
	out := make([]*plugin.Plugin, 0, len(ps.files))
	seen := map[string]bool{}
	for p := range ps.files {
		if !seen[p.Name()] {
			seen[p.Name()] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// warnUnsetEnv says at start, once per plugin, which granted variables are
// unset or empty: the plugin cannot tell a missing secret from an empty
// one, and bearer-auth, for one, then refuses every request.
func warnUnsetEnv(log *slog.Logger, what, name string, vars []string) {
	for _, v := range vars {
		if os.Getenv(v) == "" {
			log.Warn(fmt.Sprintf("%s %q: granted environment variable %s is not set (or empty); set it, or put it in .env", what, name, v),
				"plugin", name, "env", v)
		}
	}
}
