package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A host module is declared the way wazero declares its own (see
// imports/wasi_snapshot_preview1): each function's name, signature and
// grant sit in a var right above its code, and the module is the list of
// those vars. The same declarations build the module and check a guest's
// imports, so the two cannot disagree.

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func types(t ...api.ValueType) []api.ValueType { return t }

// grant says which capability an import needs.
type grant int

const (
	grantNone grant = iota
	grantAgents
	grantKV
	grantWorkflows
	grantThreads
)

// hostFunc is one host function: its signature, the grant a guest needs to
// import it, and its code. Every function finds its call's state (and
// through it the plugin) in ctx: see stateFrom.
type hostFunc struct {
	name            string
	params, results []api.ValueType
	paramNames      []string
	grant           grant
	fn              api.GoModuleFunc
}

// newHostFunc declares a function; paramNames name params for traps and
// debugging, as in the ABI's documentation.
func newHostFunc(name string, fn api.GoModuleFunc, params, results []api.ValueType, paramNames ...string) *hostFunc {
	if len(paramNames) != len(params) {
		panic(fmt.Sprintf("plugin: %s has %d params but %d names", name, len(params), len(paramNames)))
	}
	return &hostFunc{name: name, fn: fn, params: params, results: results, paramNames: paramNames}
}

// needs marks a function as needing g.
func (f *hostFunc) needs(g grant) *hostFunc { f.grant = g; return f }

// matches reports whether a guest's import has the signature of f.
func (f *hostFunc) matches(def api.FunctionDefinition) bool {
	return equalTypes(def.ParamTypes(), f.params) && equalTypes(def.ResultTypes(), f.results)
}

// hostModule is one module a guest may import from.
type hostModule struct {
	name  string
	funcs map[string]*hostFunc
}

func newHostModule(name string, fns ...*hostFunc) *hostModule {
	m := &hostModule{name: name, funcs: make(map[string]*hostFunc, len(fns))}
	for _, f := range fns {
		if m.funcs[f.name] != nil {
			panic("plugin: " + name + "." + f.name + " declared twice")
		}
		m.funcs[f.name] = f
	}
	return m
}

// instantiate adds the module to a plugin's runtime.
func (m *hostModule) instantiate(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(m.name)
	for _, f := range m.funcs {
		b.NewFunctionBuilder().
			WithGoModuleFunction(f.fn, f.params, f.results).
			WithParameterNames(f.paramNames...).
			Export(f.name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("host module %s: %w", m.name, err)
	}
	return nil
}

func equalTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sigString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("(%s)->(%s)", name(params), name(results))
}
