package server

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// structuredOutputBody is Mastra's structuredOutput option as it comes
// over HTTP: the schema is JSON Schema (client-js converts zod before
// sending), jsonPromptInjection a boolean.
type structuredOutputBody struct {
	Schema              json.RawMessage `json:"schema"`
	Model               json.RawMessage `json:"model"`
	ErrorStrategy       string          `json:"errorStrategy"`
	FallbackValue       json.RawMessage `json:"fallbackValue"`
	Instructions        string          `json:"instructions"`
	JSONPromptInjection bool            `json:"jsonPromptInjection"`
}

// structuredOutput checks the option and returns it for the agent; nil
// when the body has none. The model, when named, must be a "provider/model"
// of a configured provider: a model given as a URL and key (which Mastra
// also takes) is refused, as a client could point the server anywhere.
func (s *Server) structuredOutput(b *structuredOutputBody) (*agent.StructuredOutput, error) {
	if b == nil {
		return nil, nil
	}
	const where = "Invalid request body"
	if len(b.Schema) == 0 || string(b.Schema) == "null" {
		return nil, transport.Invalid(where, "structuredOutput.schema", "schema is required")
	}
	if msg := badRawJSON(b.Schema); msg != "" {
		return nil, transport.Invalid(where, "structuredOutput.schema", msg)
	}
	o := &agent.StructuredOutput{Schema: b.Schema, ErrorStrategy: b.ErrorStrategy, Instructions: b.Instructions,
		JSONPromptInjection: b.JSONPromptInjection}
	if v := b.FallbackValue; len(v) > 0 && string(v) != "null" {
		if msg := badRawJSON(v); msg != "" {
			return nil, transport.Invalid(where, "structuredOutput.fallbackValue", msg)
		}
		o.FallbackValue = v
	}
	if msg := badText(b.Instructions); msg != "" {
		return nil, transport.Invalid(where, "structuredOutput.instructions", msg)
	}
	if m := b.Model; len(m) > 0 && string(m) != "null" {
		var ref string
		if json.Unmarshal(m, &ref) != nil || strings.TrimSpace(ref) == "" {
			return nil, transport.Invalid(where, "structuredOutput.model",
				`expected a model name "provider/model" of a configured provider`)
		}
		c, err := s.agents.ResolveModel(ref)
		if err != nil {
			return nil, transport.Invalid(where, "structuredOutput.model", truncateMsg(err.Error()))
		}
		o.Model = &c
	}
	if err := o.Check(); err != nil {
		var oe *agent.OptionError
		if errors.As(err, &oe) {
			return nil, transport.Invalid(where, oe.Field, oe.Message)
		}
		return nil, err
	}
	return o, nil
}

func truncateMsg(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
