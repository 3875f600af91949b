package config

import (
	"strings"
	"testing"
	"time"
)

const goodWorkflow = `
[agents.writer]
model = "echo"

[workflows.publish]
description = "Draft, approve, publish"
input_schema = { type = "object", required = ["topic"], properties = { topic = { type = "string" } } }

[[workflows.publish.steps]]
id = "draft"
agent = "writer"
prompt = "Write about ${input.topic}"

[[workflows.publish.steps]]
id = "approve"
suspend = '{"draft": steps.draft.text}'
resume_schema = '{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}'

[[workflows.publish.steps]]
id = "fan"
[[workflows.publish.steps.parallel]]
id = "a"
map = "1"
[[workflows.publish.steps.parallel]]
id = "b"
map = "[1, 2, 3]"

[[workflows.publish.steps]]
id = "each"
foreach = "steps.b"
map = "item * 2"

[[workflows.publish.steps]]
id = "count"
map = "(output ?? 0) + 1"
until = "output >= 3"

[[workflows.publish.steps]]
id = "wait"
sleep = "2s"
`

func TestWorkflowDefinition(t *testing.T) {
	cfg, err := Load(writeFile(t, goodWorkflow), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	w := cfg.Workflows["publish"]
	if len(w.Steps) != 6 || w.Steps[2].Kind() != "parallel" || len(w.Steps[2].Parallel) != 2 {
		t.Fatalf("steps = %+v", w.Steps)
	}
	if w.StepTimeout != 5*time.Minute || w.Steps[3].Concurrency != 1 || w.Steps[4].MaxIterations != 1000 {
		t.Errorf("defaults: step_timeout %v, concurrency %d, max_iterations %d", w.StepTimeout, w.Steps[3].Concurrency, w.Steps[4].MaxIterations)
	}
	// What `mastra-server config` prints is what runs: the 24h the engine
	// keeps a finished run's chunks must show, not 0s.
	if w.ChunkRetention != 24*time.Hour {
		t.Errorf("default chunk_retention = %v, want 24h", w.ChunkRetention)
	}
	if w.MaxForeachItems != 10000 {
		t.Errorf("default max_foreach_items = %d, want 10000", w.MaxForeachItems)
	}
	if w.Steps[5].Sleep != 2*time.Second {
		t.Errorf("sleep = %v", w.Steps[5].Sleep)
	}
}

// A bad definition stops the start with one line per problem, naming the
// workflow and the step.
func TestInvalidWorkflowDefinitions(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"no kind", "[[workflows.w.steps]]\nid = \"s\"\n", `workflows.w.steps.s = "s": expected exactly one of agent`},
		{"two kinds", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\nsleep = \"1s\"\n", `workflows.w.steps.s = "s": expected exactly one of`},
		{"bad expr", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"input.(\"\n", `workflows.w.steps.s.map = "input.(":`},
		{"unknown name", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"inptu.x\"\n", `workflows.w.steps.s.map = "inptu.x": unknown name inptu`},
		{"unknown agent", "[[workflows.w.steps]]\nid = \"s\"\nagent = \"ghost\"\nprompt = \"hi\"\n", `workflows.w.steps.s.agent = "ghost": no [agents.ghost]`},
		{"unknown tool", "[[workflows.w.steps]]\nid = \"s\"\ntool = \"ghost\"\n", `workflows.w.steps.s.tool = "ghost": no [[tools]] entry`},
		{"bad prompt", "[[workflows.w.steps]]\nid = \"s\"\nagent = \"assistant\"\nprompt = \"hi ${input.x\"\n", `workflows.w.steps.s.prompt = "hi ${input.x": unclosed ${`},
		{"duplicate id", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\n[[workflows.w.steps]]\nid = \"s\"\nmap = \"2\"\n", `workflows.w.steps.s.id = "s": another step`},
		{"bad schema", "[workflows.w]\ninput_schema = '{\"type\": 5}'\n[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\n", `workflows.w.input_schema = "…":`},
		{"no steps", "[workflows.w]\ndescription = \"x\"\n", `workflows.w.steps = "[]": expected at least one`},
		{"branch without when", "[[workflows.w.steps]]\nid = \"b\"\n[[workflows.w.steps.branch]]\nid = \"x\"\nmap = \"1\"\n", `workflows.w.steps.b.branch.x.when = "": expected the condition`},
		{"nested self", "[[workflows.w.steps]]\nid = \"s\"\nworkflow = \"w\"\n", `workflows.w.steps.s.workflow = "w": nested workflows form a cycle: w → w`},
		{"nested cycle", "[[workflows.a.steps]]\nid = \"s\"\nworkflow = \"b\"\n[[workflows.b.steps]]\nid = \"t\"\nworkflow = \"a\"\n", `workflows.a.steps.s.workflow = "b": nested workflows form a cycle: a → b → a`},
		{"wasm without module file", "[[workflows.w.steps]]\nid = \"s\"\nwasm = \"nope.wasm\"\n", `workflows.w.steps.s.wasm = "nope.wasm": no module file at this path`},
		{"config on a map step", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\nconfig = { a = 1 }\n", `workflows.w.steps.s.config = "…": only for wasm steps`},
		{"bad set_state", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\nset_state = \"stat.x\"\n", `workflows.w.steps.s.set_state = "stat.x": unknown name stat`},
		{"structured_output on a map step", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\nstructured_output = true\noutput_schema = '{}'\n", `workflows.w.steps.s.structured_output = true: only for an agent step with an output_schema`},
		{"bad step output_schema", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\noutput_schema = '{\"type\": 5}'\n", `workflows.w.steps.s.output_schema = "…":`},
		{"bad state_schema", "[workflows.w]\nstate_schema = '{\"type\": 5}'\n[[workflows.w.steps]]\nid = \"s\"\nmap = \"state.n\"\n", `workflows.w.state_schema = "…":`},
		{"nested unknown", "[[workflows.w.steps]]\nid = \"s\"\nworkflow = \"ghost\"\n", `workflows.w.steps.s.workflow = "ghost": no [workflows.ghost]`},
		{"negative foreach cap", "[workflows.w]\nmax_foreach_items = -1\n[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\n", `workflows.w.max_foreach_items = -1: expected a positive number`},
		{"concurrency without foreach", "[[workflows.w.steps]]\nid = \"s\"\nmap = \"1\"\nconcurrency = 2\n", `workflows.w.steps.s.concurrency = 2:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(writeFile(t, tc.toml), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = cfg.Validate()
			if err == nil {
				t.Fatal("Validate succeeded")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Fatalf("got:\n%v\nwant one line starting with %q", err, tc.want)
			}
		})
	}
}
