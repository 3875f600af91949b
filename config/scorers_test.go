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
		`scorers.rate.sampling_rate = 2`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant a line with %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "scorers.ok") || strings.Contains(err.Error(), "scorers.judge") {
		t.Errorf("Validate refused the good scorer: %v", err)
	}
	if got := cfg.Agents["a"].Scorers; len(got) != 2 || got[0] != "ok" {
		t.Errorf("agent scorers = %v", got)
	}
}
