package workflow

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/mastra-server/mastra-server/host/toolschema"
	"github.com/mastra-server/mastra-server/internal/prompttemplate"
)

// Definition is one workflow as configured ([workflows.<id>]).
type Definition struct {
	ID           string
	Description  string
	InputSchema  json.RawMessage // nil: any
	OutputSchema json.RawMessage
	Result       string // expression; "" = the last step's output
	StepTimeout  time.Duration
	Steps        []StepDef
	// StateSchema checks the run's state (Mastra's workflow state): the
	// initial state and each step's set_state.
	StateSchema json.RawMessage
	// ChunkRetention is how long a finished run's stream chunks are kept
	// (all but the last); 0 means 24 hours.
	ChunkRetention time.Duration
	// MaxForeachItems caps a foreach step's list; 0 means no cap (the
	// configuration always sets one).
	MaxForeachItems int
}

// StepDef is one step as configured. Kind is one of agent, tool, wasm, map,
// suspend, sleep, sleep_until, workflow, parallel, branch.
type StepDef struct {
	ID, Description, Kind string
	Timeout               time.Duration

	Agent, Prompt string
	// StructuredOutput asks the agent for a value matching OutputSchema,
	// which is the step's output (ObjectAgentRunner), instead of {text}.
	StructuredOutput bool
	Tool, Input, Map string
	Module           string // a wasm step's module path
	// OutputSchema checks the step's output (each round's, for foreach
	// and loops); SetState is an expression whose value becomes the run's
	// state once the step finished (output is the step's output).
	OutputSchema  json.RawMessage
	SetState      string
	Suspend       string
	ResumeSchema  json.RawMessage
	Sleep         time.Duration
	SleepUntil    string
	Workflow      string
	Children      []StepDef // parallel or branch entries
	When          string
	Foreach       string
	Concurrency   int
	Until, While  string
	MaxIterations int
}

// ExprEnv is what expressions see. Keep it in step with config.ExprEnv,
// which checks the same names at start.
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

// program is a compiled expression.
type program struct {
	src string
	p   *vm.Program
}

func compile(src string) (*program, error) {
	if src == "" {
		return nil, nil
	}
	p, err := expr.Compile(src, expr.Env(ExprEnv{}))
	if err != nil {
		return nil, err
	}
	return &program{src: src, p: p}, nil
}

func (p *program) eval(env ExprEnv) (any, error) {
	out, err := expr.Run(p.p, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", p.src, err)
	}
	return out, nil
}

// workflow is a compiled Definition.
type workflow struct {
	def     Definition
	input   *toolschema.Schema
	output  *toolschema.Schema
	state   *toolschema.Schema
	result  *program
	steps   []*step // top level, in order
	byID    map[string]*step
	graph   json.RawMessage // Mastra's SerializedStepFlowEntry[]
	maxTime time.Duration   // the longest step timeout
}

// step is a compiled StepDef.
type step struct {
	def      StepDef
	top      int   // index of the top-level step it is, or belongs to
	parent   *step // parallel or branch entry: the group
	children []*step
	timeout  time.Duration
	prompt   []*program // odd indexes; even are literal (nil program, text in lits)
	lits     []string
	input    *program
	mapP     *program
	suspend  *program
	resume   *toolschema.Schema
	output   *toolschema.Schema
	setState *program
	until    *program
	when     *program
	foreach  *program
	loop     *program // until or while
	isWhile  bool
	nested   *workflow // a workflow step's workflow (linkNested)
	// light: a foreach step whose elements run without the run's
	// snapshot (lightForeach).
	light bool
}

func compileDefinition(d Definition) (*workflow, error) {
	w := &workflow{def: d, byID: map[string]*step{}}
	if len(d.InputSchema) > 0 {
		s, err := toolschema.Compile(d.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("workflow %s: input_schema: %w", d.ID, err)
		}
		w.input = s
	}
	for _, sc := range []struct {
		field string
		src   json.RawMessage
		dst   **toolschema.Schema
	}{{"output_schema", d.OutputSchema, &w.output}, {"state_schema", d.StateSchema, &w.state}} {
		if len(sc.src) == 0 {
			continue
		}
		c, err := toolschema.Compile(sc.src)
		if err != nil {
			return nil, fmt.Errorf("workflow %s: %s: %w", d.ID, sc.field, err)
		}
		*sc.dst = c
	}
	var err error
	if w.result, err = compile(d.Result); err != nil {
		return nil, fmt.Errorf("workflow %s: result: %w", d.ID, err)
	}
	var add func(sd StepDef, top int, parent *step) (*step, error)
	add = func(sd StepDef, top int, parent *step) (*step, error) {
		if _, dup := w.byID[sd.ID]; dup || sd.ID == "input" {
			return nil, fmt.Errorf("workflow %s: step id %q is used twice", d.ID, sd.ID)
		}
		s := &step{def: sd, top: top, parent: parent, timeout: sd.Timeout}
		if s.timeout <= 0 {
			s.timeout = d.StepTimeout
		}
		if s.timeout <= 0 {
			s.timeout = 5 * time.Minute // config's default step_timeout
		}
		if s.timeout > w.maxTime {
			w.maxTime = s.timeout
		}
		w.byID[sd.ID] = s
		fail := func(field string, err error) error {
			return fmt.Errorf("workflow %s: step %s: %s: %w", d.ID, sd.ID, field, err)
		}
		var err error
		if sd.Prompt != "" {
			parts, perr := prompttemplate.Split(sd.Prompt)
			if perr != nil {
				return nil, fail("prompt", perr)
			}
			for i, p := range parts {
				if i%2 == 0 {
					s.lits = append(s.lits, p)
					continue
				}
				prog, cerr := compile(p)
				if cerr != nil {
					return nil, fail("prompt", cerr)
				}
				s.prompt = append(s.prompt, prog)
			}
		}
		for _, c := range []struct {
			field string
			src   string
			dst   **program
		}{
			{"input", sd.Input, &s.input}, {"map", sd.Map, &s.mapP}, {"suspend", sd.Suspend, &s.suspend},
			{"sleep_until", sd.SleepUntil, &s.until}, {"when", sd.When, &s.when}, {"foreach", sd.Foreach, &s.foreach},
			{"set_state", sd.SetState, &s.setState},
		} {
			if *c.dst, err = compile(c.src); err != nil {
				return nil, fail(c.field, err)
			}
		}
		if sd.Until != "" {
			s.loop, err = compile(sd.Until)
		} else if sd.While != "" {
			s.loop, err = compile(sd.While)
			s.isWhile = true
		}
		if err != nil {
			return nil, fail("until/while", err)
		}
		s.light = s.lightForeach()
		if (sd.Kind == "suspend" || sd.Kind == "wasm") && len(sd.ResumeSchema) > 0 {
			if s.resume, err = toolschema.Compile(sd.ResumeSchema); err != nil {
				return nil, fail("resume_schema", err)
			}
		}
		if len(sd.OutputSchema) > 0 {
			if s.output, err = toolschema.Compile(sd.OutputSchema); err != nil {
				return nil, fail("output_schema", err)
			}
		}
		for _, ch := range sd.Children {
			c, err := add(ch, top, s)
			if err != nil {
				return nil, err
			}
			s.children = append(s.children, c)
		}
		return s, nil
	}
	for i, sd := range d.Steps {
		s, err := add(sd, i, nil)
		if err != nil {
			return nil, err
		}
		w.steps = append(w.steps, s)
	}
	if len(w.steps) == 0 {
		return nil, fmt.Errorf("workflow %s: no steps", d.ID)
	}
	w.graph = serializeGraph(w.steps)
	return w, nil
}

// render evaluates a prompt template.
func (s *step) render(env ExprEnv) (string, error) {
	var b strings.Builder
	for i, lit := range s.lits {
		b.WriteString(lit)
		if i < len(s.prompt) {
			v, err := s.prompt[i].eval(env)
			if err != nil {
				return "", err
			}
			switch x := v.(type) {
			case string:
				b.WriteString(x)
			case nil:
			default:
				j, _ := json.Marshal(x)
				b.Write(j)
			}
		}
	}
	return b.String(), nil
}

// serializeGraph renders steps as Mastra's SerializedStepFlowEntry[], for
// GET /api/workflows and Studio's graph.
func serializeGraph(steps []*step) json.RawMessage {
	type m = map[string]any
	stepInfo := func(s *step) m {
		info := m{"id": s.def.ID, "description": s.def.Description}
		switch s.def.Kind {
		case "agent":
			info["component"] = "AGENT"
		case "tool":
			info["component"] = "TOOL"
		case "workflow":
			info["component"] = "WORKFLOW"
			if s.nested != nil {
				info["serializedStepFlow"] = s.nested.graph
			}
		case "suspend", "wasm":
			info["canSuspend"] = true
		}
		return info
	}
	var entry func(s *step) m
	entry = func(s *step) m {
		var e m
		switch s.def.Kind {
		case "sleep":
			e = m{"type": "sleep", "id": s.def.ID, "duration": s.def.Sleep.Milliseconds()}
		case "sleep_until":
			e = m{"type": "sleepUntil", "id": s.def.ID, "date": nil}
		case "parallel", "branch":
			var kids []m
			var conds []m
			for _, c := range s.children {
				kids = append(kids, m{"type": "step", "step": stepInfo(c)})
				conds = append(conds, m{"id": c.def.ID + "-condition", "fn": c.def.When})
			}
			if s.def.Kind == "parallel" {
				return m{"type": "parallel", "steps": kids}
			}
			return m{"type": "conditional", "steps": kids, "serializedConditions": conds}
		default:
			e = m{"type": "step", "step": stepInfo(s)}
		}
		switch {
		case s.foreach != nil:
			return m{"type": "foreach", "step": stepInfo(s), "opts": m{"concurrency": s.def.Concurrency}}
		case s.loop != nil:
			lt, src := "dountil", s.def.Until
			if s.isWhile {
				lt, src = "dowhile", s.def.While
			}
			return m{"type": "loop", "step": stepInfo(s), "serializedCondition": m{"id": s.def.ID + "-condition", "fn": src}, "loopType": lt}
		}
		return e
	}
	out := make([]m, 0, len(steps))
	for _, s := range steps {
		out = append(out, entry(s))
	}
	b, _ := json.Marshal(out)
	return b
}

// linkNested points each workflow step at the workflow it runs, and
// refuses an unknown workflow or workflows that nest each other in a cycle
// (a run would never end), naming the workflow and the step.
func linkNested(wfs map[string]*workflow, ids []string) error {
	for _, id := range ids {
		for _, s := range wfs[id].byID {
			if s.def.Kind != "workflow" {
				continue
			}
			n, ok := wfs[s.def.Workflow]
			if !ok {
				return fmt.Errorf("workflow %s: step %s: no workflow %s", id, s.def.ID, s.def.Workflow)
			}
			s.nested = n
		}
	}
	for _, id := range ids {
		w := wfs[id]
		for _, top := range w.steps {
			for _, s := range append([]*step{top}, top.children...) {
				if s.nested == nil {
					continue
				}
				if path := cycleBack(wfs, id, s.nested.def.ID, nil); path != nil {
					return fmt.Errorf("workflow %s: step %s: nested workflows form a cycle: %s", id, s.def.ID,
						strings.Join(append([]string{id}, path...), " → "))
				}
			}
		}
	}
	// Graphs again, now that a nested step can show its workflow's graph
	// (Mastra's serializedStepFlow); nested workflows first.
	done := map[string]bool{}
	var graph func(w *workflow)
	graph = func(w *workflow) {
		if done[w.def.ID] {
			return
		}
		done[w.def.ID] = true
		for _, s := range w.byID {
			if s.nested != nil {
				graph(s.nested)
			}
		}
		w.graph = serializeGraph(w.steps)
	}
	for _, id := range ids {
		graph(wfs[id])
	}
	return nil
}

// cycleBack returns the workflows from at back to target through nested
// steps (at, …, target), or nil.
func cycleBack(wfs map[string]*workflow, target, at string, seen map[string]bool) []string {
	if at == target {
		return []string{at}
	}
	if seen == nil {
		seen = map[string]bool{}
	}
	if seen[at] {
		return nil
	}
	seen[at] = true
	for _, s := range wfs[at].byID {
		if s.nested != nil {
			if p := cycleBack(wfs, target, s.nested.def.ID, seen); p != nil {
				return append([]string{at}, p...)
			}
		}
	}
	return nil
}
