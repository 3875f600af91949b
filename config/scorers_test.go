package config

import (
	"strings"
	"testing"
)

// Each bad [scorers.*] entry or reference is one line naming its key.
func TestScorersValidation(t *testing.T) {
	path := writeFile(t, `
[agents.a]
model = "echo"
scorers = ["ok", "nowhere"]
[scorers.ok]
kind = "contains"
text = "thanks"
sampling_rate = 0.5
[scorers.nokind]
kind = "guess"
[scorers.nojudge]
kind = "llm"
[scorers.judge]
kind = "llm"
model = "echo"
prompt = "Is it polite?"
[scorers.badjudge]
kind = "llm"
model = "nowhere/x"
prompt = "p"
workflows = ["missing"]
[scorers.mixed]
kind = "contains"
text = "x"
prompt = "p"
[scorers.badre]
kind = "regex"
pattern = "(unclosed"
[scorers.badschema]
kind = "json_schema"
schema = "not json"
[scorers.empty]
kind = "contains"
[scorers.notool]
kind = "tool_called"
negate = true
workflows = ["missing"]
[scorers.slow]
kind = "latency"
max_ms = 0
[scorers.greedy]
kind = "tokens"
max_tokens = -1
[scorers.stray]
kind = "contains"
text = "x"
tool = "t"
max_ms = 5
max_tokens = 5
[scorers.tooled]
kind = "tool_called"
tool = "weather"
negate = true
[scorers.quick]
kind = "latency"
max_ms = 2000
[scorers.cheap]
kind = "tokens"
max_tokens = 500
[scorers.rate]
kind = "regex"
pattern = "x"
sampling_rate = 2.0
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad scorers")
	}
	for _, want := range []string{`agents.a.scorers = "nowhere": no [scorers.nowhere] table`, `scorers.nokind.kind = "guess"`,
		`scorers.nojudge.model = ""`, `scorers.nojudge.prompt = ""`, `scorers.badjudge.model = "nowhere/x": unknown provider`,
		`scorers.badjudge.workflows = "missing": no [workflows.missing]`, `scorers.mixed = "contains": model and prompt are for llm`,
		`scorers.badre.pattern = "(unclosed"`, `scorers.badschema.schema = "not json"`, `scorers.empty.text = ""`,
		`scorers.rate.sampling_rate = 2`, `scorers.notool.tool = "": a tool_called scorer needs the tool's name`,
		`scorers.notool.workflows = ["missing"]: a tool_called scorer grades agent turns`, `scorers.slow.max_ms = 0: a latency scorer needs max_ms > 0`,
		`scorers.greedy.max_tokens = -1: a tokens scorer needs max_tokens > 0`, `scorers.stray = "contains": tool and negate are for tool_called`,
		`scorers.stray.max_ms = 5: max_ms is for latency`, `scorers.stray.max_tokens = 5: max_tokens is for tokens`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant a line with %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "scorers.ok") || strings.Contains(err.Error(), "scorers.judge") ||
		strings.Contains(err.Error(), "scorers.tooled") || strings.Contains(err.Error(), "scorers.quick") || strings.Contains(err.Error(), "scorers.cheap") {
		t.Errorf("Validate refused the good scorer: %v", err)
	}
	if got := cfg.Agents["a"].Scorers; len(got) != 2 || got[0] != "ok" {
		t.Errorf("agent scorers = %v", got)
	}
}
