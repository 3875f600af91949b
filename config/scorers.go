package config

import (
	"encoding/json"
	"regexp"
	"sort"
)

// Scorer is one [scorers.<id>] table: a rule that grades an agent's
// reply after the turn, stored as a score (host/observe). Agents name
// theirs with scorers = ["<id>", …].
type Scorer struct {
	Name        string `koanf:"name"`
	Description string `koanf:"description"`
	// Kind is "contains" (Text in the reply), "regex" (Pattern matches the
	// reply) or "json_schema" (the reply is JSON valid against Schema).
	Kind    string `koanf:"kind"`
	Text    string `koanf:"text"`
	Pattern string `koanf:"pattern"`
	// Schema is a JSON Schema, as JSON text.
	Schema string `koanf:"schema"`
	// SamplingRate is the share of turns scored, 0 to 1 (nil: every
	// turn); the pick is by trace id, so scorers of one rate grade the
	// same turns, as Mastra samples.
	SamplingRate *float64 `koanf:"sampling_rate"`
}

// ScorerKinds are the kinds a [scorers.<id>] may have.
var ScorerKinds = []string{"contains", "regex", "json_schema"}

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
		default:
			bad(key+".kind", s.Kind, "expected contains, regex or json_schema")
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
