package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/mastra-server/mastra-server/internal/prompttemplate"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Workflow is one [workflows.<id>] definition: a sequence of steps run
// durably (see README "Workflows"). Expressions (map, input, when, until,
// while, foreach, suspend, sleep_until, result, and ${…} in prompts) are
// expr-lang expressions (https://expr-lang.org) over the run's data:
//
//	input      the run's input data
//	steps      outputs of the finished steps, by id (steps.draft.text)
//	prev       the previous step's output
//	item/index the current element and its index (foreach steps)
//	output     this iteration's output, iteration its number (until/while)
//	resume     the resume data (a suspend step's output once resumed)
//	state      the run's state (Mastra's workflow state; see set_state)
type Workflow struct {
	Description string `koanf:"description"`
	// InputSchema and OutputSchema are JSON Schemas: an inline table, a
	// JSON string or a file path. Start data is checked against the input
	// schema before the run is created.
	InputSchema  any `koanf:"input_schema"`
	OutputSchema any `koanf:"output_schema"`
	// Result maps the run's result (expression); "" means the last step's
	// output.
	Result string `koanf:"result"`
	// StepTimeout bounds each step that sets no timeout of its own. A step
	// still running after it is cancelled, and a step whose instance died
	// is run again elsewhere once it has passed.
	StepTimeout time.Duration `koanf:"step_timeout"`
	Steps       []Step        `koanf:"steps"`
	// StateSchema checks the run's state: the initialState a start sends
	// and each step's set_state. No schema: any object.
	StateSchema any `koanf:"state_schema"`
	// ChunkRetention is how long a finished run's stream chunks are kept
	// for observe (all but the last, which holds the result); default 24h.
	ChunkRetention time.Duration `koanf:"chunk_retention"`
	// MaxForeachItems caps the list of each foreach step (default 10000).
	// A start whose input alone makes a longer list is refused (400); a
	// longer list computed later fails its step, naming the cap.
	MaxForeachItems int `koanf:"max_foreach_items"`
}

// Step is one step. Exactly one kind key is set: agent (with prompt), tool
// (with input), wasm (with input, config, resume_schema), map, suspend, sleep, sleep_until, workflow (nested, with
// input), parallel or branch. foreach (with concurrency) or until / while
// (with max_iterations) repeat a step of the other kinds.
type Step struct {
	ID          string        `koanf:"id"`
	Description string        `koanf:"description"`
	Timeout     time.Duration `koanf:"timeout"`

	Agent  string `koanf:"agent"`
	Prompt string `koanf:"prompt"` // text with ${expression} parts
	// StructuredOutput makes an agent step ask for a value matching its
	// output_schema (Mastra's structuredOutput), which becomes the step's
	// output instead of {text}.
	StructuredOutput bool   `koanf:"structured_output"`
	Tool             string `koanf:"tool"`
	// Wasm is the path of a Wasm step module (see README "Wasm step
	// modules"), Config the JSON its mastra.config_get reads.
	Wasm   string         `koanf:"wasm"`
	Config map[string]any `koanf:"config"`
	// Input is the expression whose value a tool, Wasm module or nested
	// workflow gets; "" means the previous step's output.
	Input string `koanf:"input"`
	Map   string `koanf:"map"`
	// Suspend is the expression of the payload the step suspends with; the
	// run waits until resumed with data valid against ResumeSchema, which
	// becomes the step's output.
	Suspend      string        `koanf:"suspend"`
	ResumeSchema any           `koanf:"resume_schema"`
	Sleep        time.Duration `koanf:"sleep"`
	SleepUntil   string        `koanf:"sleep_until"` // expression: RFC 3339 text or Unix milliseconds
	Workflow     string        `koanf:"workflow"`
	Parallel     []Step        `koanf:"parallel"`
	Branch       []Step        `koanf:"branch"`
	// When is the condition of a branch entry.
	When string `koanf:"when"`
	// OutputSchema checks the step's output (each round's, for foreach,
	// until and while): a step whose output does not match fails the run.
	OutputSchema any `koanf:"output_schema"`
	// SetState is an expression whose value (an object) becomes the run's
	// state once the step finished; output is the step's output there.
	SetState string `koanf:"set_state"`

	Foreach       string `koanf:"foreach"`
	Concurrency   int    `koanf:"concurrency"`
	Until         string `koanf:"until"`
	While         string `koanf:"while"`
	MaxIterations int    `koanf:"max_iterations"`
}

// Kind names the step's kind: agent, tool, wasm, map, suspend, sleep,
// sleep_until, workflow, parallel, branch; "" when none or several are set
// (Validate reports it).
func (s Step) Kind() string {
	var kinds []string
	set := func(ok bool, k string) {
		if ok {
			kinds = append(kinds, k)
		}
	}
	set(s.Agent != "", "agent")
	set(s.Tool != "", "tool")
	set(s.Wasm != "", "wasm")
	set(s.Map != "", "map")
	set(s.Suspend != "", "suspend")
	set(s.Sleep != 0, "sleep")
	set(s.SleepUntil != "", "sleep_until")
	set(s.Workflow != "", "workflow")
	set(len(s.Parallel) > 0, "parallel")
	set(len(s.Branch) > 0, "branch")
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// ExprEnv lists the names an expression may use; any other name is an
// error at start. Values are JSON data, so their types are only known when
// the expression runs.
type ExprEnv struct {
	Input     any            `expr:"input"`
	Steps     map[string]any `expr:"steps"`
	Prev      any            `expr:"prev"`
	Item      any            `expr:"item"`
	Index     int            `expr:"index"`
	Output    any            `expr:"output"`
	Iteration int            `expr:"iteration"`
	Resume    any            `expr:"resume"`
	RunID     string         `expr:"runId"`
	State     any            `expr:"state"`
}

// CompileExpr checks an expression against ExprEnv.
func CompileExpr(src string) error {
	_, err := expr.Compile(src, expr.Env(ExprEnv{}))
	if err != nil {
		return errors.New(firstLine(err.Error()))
	}
	return nil
}

// JSONSchema reads a schema given as an inline table, a JSON string or a
// file path; nil is nil.
func JSONSchema(v any) (json.RawMessage, error) {
	switch s := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.HasPrefix(strings.TrimSpace(s), "{") {
			if !json.Valid([]byte(s)) {
				return nil, errors.New("not valid JSON")
			}
			return json.RawMessage(s), nil
		}
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		if !json.Valid(b) {
			return nil, fmt.Errorf("%s is not valid JSON", s)
		}
		return b, nil
	case map[string]any:
		return json.Marshal(s)
	}
	return nil, fmt.Errorf("expected a table, a JSON string or a file path, got %T", v)
}

func checkSchema(v any) error {
	raw, err := JSONSchema(v)
	if err != nil || raw == nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{})
	if err := c.AddResource("mem:///schema.json", doc); err != nil {
		return err
	}
	_, err = c.Compile("mem:///schema.json")
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// WorkflowIDs returns the workflow ids, sorted.
func (c *Config) WorkflowIDs() []string {
	ids := make([]string, 0, len(c.Workflows))
	for id := range c.Workflows {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// validateWorkflows reports each problem as one line naming the workflow
// and the step: workflows.<id>.steps.<step>.<key> = value: why.
func (c *Config) validateWorkflows(bad func(string, any, string, ...any), toolNames map[string]bool) {
	for _, id := range c.WorkflowIDs() {
		w := c.Workflows[id]
		key := "workflows." + id
		if !idPattern.MatchString(id) {
			bad(key, id, "workflow ids use letters, digits, '_' or '-'")
		}
		if err := checkSchema(w.InputSchema); err != nil {
			bad(key+".input_schema", "…", "%s", firstLine(err.Error()))
		}
		if err := checkSchema(w.OutputSchema); err != nil {
			bad(key+".output_schema", "…", "%s", firstLine(err.Error()))
		}
		if err := checkSchema(w.StateSchema); err != nil {
			bad(key+".state_schema", "…", "%s", firstLine(err.Error()))
		}
		if w.ChunkRetention < 0 {
			bad(key+".chunk_retention", w.ChunkRetention, "expected a positive duration such as \"24h\"")
		}
		if w.StepTimeout <= 0 {
			bad(key+".step_timeout", w.StepTimeout, "expected a positive duration such as \"5m\"")
		}
		if w.MaxForeachItems <= 0 {
			bad(key+".max_foreach_items", w.MaxForeachItems, "expected a positive number of elements")
		}
		if w.Result != "" {
			if err := CompileExpr(w.Result); err != nil {
				bad(key+".result", w.Result, "%v", err)
			}
		}
		if len(w.Steps) == 0 {
			bad(key+".steps", "[]", "expected at least one [[%s.steps]]", key)
		}
		seen := map[string]bool{}
		for i, s := range w.Steps {
			c.validateStep(bad, key, i, s, seen, toolNames, 0)
		}
	}
}

func (c *Config) validateStep(bad func(string, any, string, ...any), wkey string, i int, s Step, seen, toolNames map[string]bool, depth int) {
	name := s.ID
	if name == "" {
		name = fmt.Sprintf("[%d]", i)
	}
	key := wkey + ".steps." + name
	switch {
	case !idPattern.MatchString(s.ID):
		bad(key+".id", s.ID, "expected a step id of letters, digits, '_' or '-'")
	case seen[s.ID]:
		bad(key+".id", s.ID, "another step of this workflow has this id")
	}
	seen[s.ID] = true
	check := func(field, src string) {
		if src == "" {
			return
		}
		if err := CompileExpr(src); err != nil {
			bad(key+"."+field, src, "%v", err)
		}
	}
	kind := s.Kind()
	if kind == "" {
		bad(key, s.ID, "expected exactly one of agent, tool, wasm, map, suspend, sleep, sleep_until, workflow, parallel, branch")
		return
	}
	if s.Timeout < 0 {
		bad(key+".timeout", s.Timeout, "expected a positive duration")
	}
	only := func(field string, set bool, kinds ...string) {
		if set && !containsStr(kinds, kind) {
			bad(key+"."+field, "…", "only for %s steps", strings.Join(kinds, " and "))
		}
	}
	only("prompt", s.Prompt != "", "agent")
	only("input", s.Input != "", "tool", "workflow", "wasm")
	only("resume_schema", s.ResumeSchema != nil, "suspend", "wasm")
	only("config", s.Config != nil, "wasm")
	switch kind {
	case "agent":
		if _, ok := c.Agents[s.Agent]; !ok {
			bad(key+".agent", s.Agent, "no [agents.%s]", s.Agent)
		}
		if s.Prompt == "" {
			bad(key+".prompt", "", "expected the prompt, e.g. \"Summarise ${input.text}\"")
		} else if parts, err := prompttemplate.Split(s.Prompt); err != nil {
			bad(key+".prompt", s.Prompt, "%v", err)
		} else {
			for j := 1; j < len(parts); j += 2 {
				check("prompt", parts[j])
			}
		}
	case "tool":
		if !toolNames[s.Tool] {
			bad(key+".tool", s.Tool, "no [[tools]] entry has this name")
		}
		check("input", s.Input)
	case "wasm":
		if st, err := os.Stat(s.Wasm); err != nil || st.IsDir() {
			bad(key+".wasm", s.Wasm, "no module file at this path")
		}
		check("input", s.Input)
		if err := checkSchema(s.ResumeSchema); err != nil {
			bad(key+".resume_schema", "…", "%s", firstLine(err.Error()))
		}
	case "map":
		check("map", s.Map)
	case "suspend":
		check("suspend", s.Suspend)
		if err := checkSchema(s.ResumeSchema); err != nil {
			bad(key+".resume_schema", "…", "%s", firstLine(err.Error()))
		}
	case "sleep":
		if s.Sleep < 0 {
			bad(key+".sleep", s.Sleep, "expected a positive duration such as \"2s\"")
		}
	case "sleep_until":
		check("sleep_until", s.SleepUntil)
	case "workflow":
		if _, ok := c.Workflows[s.Workflow]; !ok {
			bad(key+".workflow", s.Workflow, "no [workflows.%s]", s.Workflow)
		} else if cycle := c.nestingCycle(strings.TrimPrefix(wkey, "workflows."), s.Workflow); cycle != nil {
			bad(key+".workflow", s.Workflow, "nested workflows form a cycle: %s", strings.Join(cycle, " → "))
		}
		check("input", s.Input)
	case "parallel", "branch":
		if depth > 0 {
			bad(key+"."+kind, "…", "parallel and branch steps cannot nest; use a nested workflow step")
			return
		}
		if s.Foreach != "" || s.Until != "" || s.While != "" {
			bad(key+"."+kind, "…", "foreach, until and while repeat one step, not a %s", kind)
		}
		children := s.Parallel
		if kind == "branch" {
			children = s.Branch
		}
		for j, ch := range children {
			if kind == "branch" {
				if ch.When == "" {
					bad(key+".branch."+ch.ID+".when", "", "expected the condition of this branch")
				}
			} else if ch.When != "" {
				bad(key+".parallel."+ch.ID+".when", ch.When, "only for branch entries")
			}
			c.validateStep(bad, wkey, j, ch, seen, toolNames, depth+1)
		}
	}
	if kind != "branch" && s.When != "" && depth == 0 {
		bad(key+".when", s.When, "only for branch entries")
	}
	check("when", s.When)
	check("set_state", s.SetState)
	if s.StructuredOutput && (kind != "agent" || s.OutputSchema == nil) {
		bad(key+".structured_output", true, "only for an agent step with an output_schema (the value's schema)")
	}
	if err := checkSchema(s.OutputSchema); err != nil {
		bad(key+".output_schema", "…", "%s", firstLine(err.Error()))
	}
	check("foreach", s.Foreach)
	check("until", s.Until)
	check("while", s.While)
	if s.Until != "" && s.While != "" {
		bad(key+".until", s.Until, "set until or while, not both")
	}
	if s.Foreach != "" && (s.Until != "" || s.While != "") {
		bad(key+".foreach", s.Foreach, "a step either repeats per element (foreach) or in a loop (until/while)")
	}
	if s.Foreach != "" && kind == "suspend" {
		bad(key+".foreach", s.Foreach, "a suspend step cannot run per element")
	}
	if s.Concurrency < 0 || (s.Concurrency > 0 && s.Foreach == "") {
		bad(key+".concurrency", s.Concurrency, "expected a positive number, on a foreach step")
	}
	if s.MaxIterations < 0 || (s.MaxIterations > 0 && s.Until == "" && s.While == "") {
		bad(key+".max_iterations", s.MaxIterations, "expected a positive number, on an until or while step")
	}
}

// nestingCycle returns the cycle from workflow from through its nested
// step into workflow to and back to from (from, to, …, from), or nil when to
// does not lead back. A cycle is reported once, at the first workflow of it
// in id order, so that the start fails with one line per cycle.
func (c *Config) nestingCycle(from, to string) []string {
	var path []string
	seen := map[string]bool{}
	var walk func(id string) bool
	walk = func(id string) bool {
		path = append(path, id)
		if id == from {
			return true
		}
		if !seen[id] {
			seen[id] = true
			for _, next := range nestedWorkflows(c.Workflows[id].Steps) {
				if _, ok := c.Workflows[next]; ok && walk(next) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if !walk(to) {
		return nil
	}
	for _, id := range path {
		if id < from {
			return nil // reported at that workflow
		}
	}
	return append([]string{from}, path...)
}

// nestedWorkflows lists the workflows that steps nest, in order.
func nestedWorkflows(steps []Step) []string {
	var out []string
	for _, s := range steps {
		if s.Workflow != "" {
			out = append(out, s.Workflow)
		}
		out = append(out, nestedWorkflows(s.Parallel)...)
		out = append(out, nestedWorkflows(s.Branch)...)
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
