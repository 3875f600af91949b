package config

import (
	"maps"
	"slices"
)

// validateInert refuses keys that would be accepted and then ignored
// because the key that turns their feature on is off: each takes effect
// only with the other, so setting it alone is a mistake to name at start.
func (c *Config) validateInert(bad func(string, any, string, ...any)) {
	if j := c.Server.Auth.JWT; j.JWKSURL == "" {
		for _, k := range []struct{ name, v string }{{"issuer", j.Issuer}, {"audience", j.Audience}} {
			if k.v != "" {
				bad("server.auth.jwt."+k.name, k.v, "JWTs are off while server.auth.jwt.jwks_url is empty, so this is ignored; set jwks_url or remove it")
			}
		}
	}
	if m := c.Server.Metrics; !m.Enabled && m.Listen != "" {
		bad("server.metrics.listen", m.Listen, "server.metrics.enabled is false, so nothing listens there; set enabled = true or remove listen")
	}
	for _, id := range slices.Sorted(maps.Keys(c.Agents)) {
		a := c.Agents[id]
		key := "agents." + id
		if a.TitleModel != "" && !a.GenerateTitle {
			bad(key+".title_model", a.TitleModel, "generate_title is false, so no title is generated; set generate_title = true or remove title_model")
		}
		if wm := a.WorkingMemory; !wm.Enabled {
			for _, k := range []struct{ name, v string }{{"scope", wm.Scope}, {"template", wm.Template}, {"schema", wm.Schema}} {
				if k.v != "" {
					bad(key+".working_memory."+k.name, "(set)", "working_memory.enabled is false, so this is ignored; set enabled = true or remove it")
				}
			}
		}
		if m := a.Memory; !m.SemanticRecall.Enabled {
			sr := m.SemanticRecall
			set := len(m.Embedder) > 0 || sr.TopK != 0 || sr.MessageRange != nil || sr.Before != nil || sr.After != nil ||
				sr.Scope != "" || sr.Threshold != nil || sr.Index != "" || sr.Dimensions != 0 || sr.Filter != nil || sr.IndexConfig != (RecallIndexConfig{})
			if set {
				bad(key+".memory", "(set)", "memory.semantic_recall.enabled is false, so the embedder and semantic_recall settings are ignored; set enabled = true or remove them")
			}
		}
	}
}
