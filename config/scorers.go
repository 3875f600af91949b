package config

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/mastra-server/mastra-server/internal/providers"
)

// Scorer is one [scorers.<id>] table: a rule or a judge model that
// grades an agent's reply after the turn (or a workflow run's result),
// stored as a score (host/observe). Agents name theirs with
// scorers = ["<id>", …]; a scorer names the workflows it grades.
type Scorer struct {
	Name        string `koanf:"name"`
	Description string `koanf:"description"`
	// Kind is "contains" (Text in the reply), "regex" (Pattern matches the
	// reply), "json_schema" (the reply is JSON valid against Schema) or
	// "llm" (Model grades the reply against the rubric Prompt, 0 to 1);
	// or a rule on the turn: "tool_called" (Tool was called; Negate: it
	// was not), "latency" (took at most MaxMS) or "tokens" (used at most
	// MaxTokens, input and output).
	Kind    string `koanf:"kind"`
	Text    string `koanf:"text"`
	Pattern string `koanf:"pattern"`
	// Schema is a JSON Schema, as JSON text.
	Schema string `koanf:"schema"`
	// Model is an llm scorer's judge, "provider/model"; Prompt its rubric
	// ({{input}} and {{output}} are replaced by the user's message and the
	// reply).
	Model     string `koanf:"model"`
	Prompt    string `koanf:"prompt"`
	Tool      string `koanf:"tool"`
	Negate    bool   `koanf:"negate"`
	MaxMS     int64  `koanf:"max_ms"`
	MaxTokens int    `koanf:"max_tokens"`
	// Workflows are the workflows whose runs' results it grades.
	Workflows []string `koanf:"workflows"`
	// SamplingRate is the share of turns scored, 0 to 1 (nil: every
	// turn); the pick is by trace id, so scorers of one rate grade the
	// same turns, as Mastra samples.
	SamplingRate *float64 `koanf:"sampling_rate"`
}

// ScorerKinds are the kinds a [scorers.<id>] may have.
var ScorerKinds = []string{"contains", "regex", "json_schema", "llm", "tool_called", "latency", "tokens"}

// validateScorers checks [scorers.*] and the agents' scorers lists.
func (c *Config) validateScorers(bad func(key string, value any, format string, args ...any)) {
	ids := make([]string, 0, len(c.Scorers))
	for id := range c.Scorers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s, key := c.Scorers[id], "scorers."+id
		if !idPattern.MatchString(id) {
			bad(key, id, "scorer ids use letters, digits, '_' or '-'")
		}
		switch s.Kind {
		case "contains":
			if s.Text == "" {
				bad(key+".text", "", "a contains scorer needs the text to look for")
			}
		case "regex":
			if _, err := regexp.Compile(s.Pattern); err != nil || s.Pattern == "" {
				bad(key+".pattern", s.Pattern, "expected a regular expression (Go RE2 syntax)")
			}
		case "json_schema":
			var v map[string]any
			if json.Unmarshal([]byte(s.Schema), &v) != nil {
				bad(key+".schema", s.Schema, "expected a JSON Schema object, as JSON text")
			}
		case "llm":
			if p, _, err := providers.ParseModelRef(s.Model); err != nil {
				bad(key+".model", s.Model, "an llm scorer needs its judge model, \"provider/model\": %v", err)
			} else if _, _, ok := c.Provider(p); !ok {
				bad(key+".model", s.Model, "unknown provider %q", p)
			}
			if strings.TrimSpace(s.Prompt) == "" {
				bad(key+".prompt", "", "an llm scorer needs a prompt: the rubric the judge grades by")
			}
		case "tool_called":
			if s.Tool == "" {
				bad(key+".tool", "", "a tool_called scorer needs the tool's name (negate = true: scores 1 when it was not called)")
			}
			if len(s.Workflows) > 0 {
				bad(key+".workflows", s.Workflows, "a tool_called scorer grades agent turns: workflow runs call no agent tools")
			}
		case "latency":
			if s.MaxMS <= 0 {
				bad(key+".max_ms", s.MaxMS, "a latency scorer needs max_ms > 0, the longest a turn or run may take")
			}
		case "tokens":
			if s.MaxTokens <= 0 {
				bad(key+".max_tokens", s.MaxTokens, "a tokens scorer needs max_tokens > 0, the most tokens a turn may use")
			}
			if len(s.Workflows) > 0 {
				bad(key+".workflows", s.Workflows, "a tokens scorer grades agent turns: a workflow run's tokens are not counted")
			}
		default:
			bad(key+".kind", s.Kind, "expected contains, regex, json_schema, llm, tool_called, latency or tokens")
		}
		if (s.Tool != "" || s.Negate) && s.Kind != "tool_called" {
			bad(key, s.Kind, "tool and negate are for tool_called scorers: remove them")
		}
		if s.MaxMS != 0 && s.Kind != "latency" {
			bad(key+".max_ms", s.MaxMS, "max_ms is for latency scorers: remove it")
		}
		if s.MaxTokens != 0 && s.Kind != "tokens" {
			bad(key+".max_tokens", s.MaxTokens, "max_tokens is for tokens scorers: remove it")
		}
		if (s.Model != "" || s.Prompt != "") && s.Kind != "llm" {
			bad(key, s.Kind, "model and prompt are for llm scorers: remove them")
		}
		for _, w := range s.Workflows {
			if _, ok := c.Workflows[w]; !ok {
				bad(key+".workflows", w, "no [workflows.%s]", w)
			}
		}
		if len(s.Workflows) > 0 && !c.Observability.Enabled {
			bad(key+".workflows", s.Workflows, "scores are stored with the traces: set observability.enabled = true")
		}
		if r := s.SamplingRate; r != nil && (*r < 0 || *r > 1) {
			bad(key+".sampling_rate", *r, "expected a share from 0 to 1")
		}
		if (s.Text != "" && s.Kind != "contains") || (s.Pattern != "" && s.Kind != "regex") || (s.Schema != "" && s.Kind != "json_schema") {
			bad(key, s.Kind, "text is for contains, pattern for regex, schema for json_schema: remove the others")
		}
	}
	agents := make([]string, 0, len(c.Agents))
	for id := range c.Agents {
		agents = append(agents, id)
	}
	sort.Strings(agents)
	for _, id := range agents {
		for _, sc := range c.Agents[id].Scorers {
			if _, ok := c.Scorers[sc]; !ok {
				bad("agents."+id+".scorers", sc, "no [scorers.%s] table", sc)
			}
		}
		if len(c.Agents[id].Scorers) > 0 && !c.Observability.Enabled {
			bad("agents."+id+".scorers", c.Agents[id].Scorers, "scores are stored with the traces: set observability.enabled = true")
		}
	}
}
