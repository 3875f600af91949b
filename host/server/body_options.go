package server

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// No option of Mastra's generate/stream body is silently ignored: each
// field of agentExecutionBodySchema is either honoured or refused with a
// 400 naming it. A refused field is accepted when it asks for nothing
// (null, false, "", or objects and arrays of only those), which is what a
// client sends by default.
// README's "Request options" table is this list; a test walks it.

// bodyField is one field of Mastra's body and what the server does with it.
type bodyField struct {
	Name     string // dotted for nested fields
	Honoured bool
	Note     string // what honouring means, or why it is refused
}

var mastraBodyFields = []bodyField{
	{"messages", true, "string or message array (AI SDK model and UI messages, stored v2 messages)"},
	{"memory.thread", true, "thread id, or {id}"},
	{"memory.resource", true, "the resource; a token's resource wins"},
	{"memory.options", false, "per-turn memory settings: set them on the agent in mastra.toml"},
	{"memory.readOnly", true, "history, working memory and semantic recall are read; nothing is saved or embedded, and the working memory tool is not offered"},
	{"requestContext", true, "merged into the request's context (reserved keys ignored)"},
	{"instructions", true, "added to the agent's instructions"},
	{"system", true, "added to the agent's instructions"},
	{"context", true, "messages shown to the model before the history, not saved"},
	{"runId", true, "the run's id"},
	{"savePerStep", false, "the turn is saved whole, in one transaction, when it completes"},
	{"maxSteps", true, "tool loop limit"},
	{"stopWhen", false, "a function in Mastra: not expressible over HTTP (use maxSteps)"},
	{"model", true, `"provider/model" of a configured provider, instead of the agent's model and fallbacks`},
	{"modelSettings.temperature", true, ""},
	{"modelSettings.maxOutputTokens", true, "also maxTokens"},
	{"modelSettings.topP", true, ""},
	{"modelSettings.seed", true, "400 for a provider without it"},
	{"modelSettings.stopSequences", true, ""},
	{"modelSettings.presencePenalty", true, "400 for a provider without it"},
	{"modelSettings.frequencyPenalty", true, "400 for a provider without it"},
	{"modelSettings.topK", true, "Anthropic's top_k; 400 for a provider without it"},
	{"modelSettings.maxRetries", true, "at most the provider's max_retries in mastra.toml"},
	{"modelSettings.headers", false, "provider headers come from mastra.toml, never from a client"},
	{"modelSettings.reasoning", false, "set thinking_budget on the agent in mastra.toml"},
	{"providerOptions", false, "set provider options in mastra.toml"},
	{"activeTools", true, "only these tools are offered; an unknown name is a 400"},
	{"toolChoice", true, `"auto", "none", "required" or {type:"tool", toolName}`},
	{"toolsets", false, "tools without code cannot run on the server: use clientTools"},
	{"clientTools", true, "the client runs them"},
	{"requireToolApproval", true, "every tool call of the turn waits for approval (a request cannot switch off what mastra.toml turns on)"},
	{"structuredOutput", true, "see Structured output"},
	{"output", true, "the older name of structuredOutput.schema"},
	{"scorers", false, "scorers are configured on the server"},
	{"returnScorerData", false, "scores are stored, not returned"},
	{"tracingOptions", false, "traces follow the request's traceparent header"},
	{"versions", false, "agents have no stored versions here"},
	{"untilIdle", true, "no background tasks here: the stream ends with the turn (Studio sends it)"},
	{"threadId", false, "ignored by Mastra 1.x on these routes: use memory.thread"},
	{"resourceId", false, "ignored by Mastra 1.x on these routes: use memory.resource"},
}

// unsupported holds the refused fields of the body, as sent.
type unsupported struct {
	SavePerStep      json.RawMessage `json:"savePerStep"`
	StopWhen         json.RawMessage `json:"stopWhen"`
	ProviderOptions  json.RawMessage `json:"providerOptions"`
	Toolsets         json.RawMessage `json:"toolsets"`
	Scorers          json.RawMessage `json:"scorers"`
	ReturnScorerData json.RawMessage `json:"returnScorerData"`
	TracingOptions   json.RawMessage `json:"tracingOptions"`
	Versions         json.RawMessage `json:"versions"`
	ThreadID         json.RawMessage `json:"threadId"`
	ResourceID       json.RawMessage `json:"resourceId"`
}

// check returns the 400 naming the first refused field that asks for
// something.
func (u *unsupported) check() error {
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{
		{"savePerStep", u.SavePerStep}, {"stopWhen", u.StopWhen}, {"providerOptions", u.ProviderOptions},
		{"toolsets", u.Toolsets}, {"scorers", u.Scorers},
		{"returnScorerData", u.ReturnScorerData}, {"tracingOptions", u.TracingOptions}, {"versions", u.Versions},
		{"threadId", u.ThreadID}, {"resourceId", u.ResourceID},
	} {
		if asks(f.v) {
			return refused(f.name)
		}
	}
	return nil
}

// asks reports whether a field's value asks for anything: not absent,
// null, false, "", nor an object or array of such values only ({},
// {"openai":{}}, []).
func asks(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return false
	}
	switch string(v) {
	case "null", "false", `""`:
		return false
	}
	if v[0] == '{' || v[0] == '[' {
		var x any
		if json.Unmarshal(v, &x) == nil {
			return asksValue(x)
		}
	}
	return true
}

func asksValue(x any) bool {
	switch c := x.(type) {
	case nil:
		return false
	case bool:
		return c
	case string:
		return c != ""
	case map[string]any:
		for _, e := range c {
			if asksValue(e) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range c {
			if asksValue(e) {
				return true
			}
		}
		return false
	}
	return true // a number
}

// refused is the 400 for a field the server does not honour.
func refused(name string) error {
	note := ""
	for _, f := range mastraBodyFields {
		if f.Name == name {
			note = f.Note
		}
	}
	return transport.Invalid("Invalid request body", name, "not supported by this server: "+note)
}

// turnOptions are the honoured options of Mastra's body beyond messages,
// memory and the rest apiTurn reads itself.
type turnOptions struct {
	Context    json.RawMessage `json:"context"`
	Model      json.RawMessage `json:"model"`
	ActiveTool json.RawMessage `json:"activeTools"`
	ToolChoice json.RawMessage `json:"toolChoice"`
	Output     json.RawMessage `json:"output"`
}

// apply checks the options and sets them on in.
func (s *Server) applyOptions(o *turnOptions, in *agent.Input) error {
	const where = "Invalid request body"
	if c := bytes.TrimSpace(o.Context); len(c) > 0 && string(c) != "null" {
		if c[0] != '[' {
			return transport.Invalid(where, "context", "expected an array of messages")
		}
		msgs, err := s.parseMessages(c)
		if err != nil {
			return transport.Invalid(where, "context", "expected an array of messages")
		}
		in.Context = msgs
	}
	if m := o.Model; len(m) > 0 && string(m) != "null" {
		var ref string
		if json.Unmarshal(m, &ref) != nil || strings.TrimSpace(ref) == "" {
			return transport.Invalid(where, "model", `expected a model name "provider/model" of a configured provider`)
		}
		c, err := s.agents.ResolveModel(ref)
		if err != nil {
			return transport.Invalid(where, "model", truncateMsg(err.Error()))
		}
		in.Model = &c
	}
	if a := o.ActiveTool; len(a) > 0 && string(a) != "null" {
		if json.Unmarshal(a, &in.ActiveTools) != nil {
			return transport.Invalid(where, "activeTools", "expected an array of tool names")
		}
		if in.ActiveTools == nil {
			in.ActiveTools = []string{}
		}
	}
	if tc := o.ToolChoice; len(tc) > 0 && string(tc) != "null" {
		var name string
		var named struct {
			Type     string `json:"type"`
			ToolName string `json:"toolName"`
		}
		switch {
		case json.Unmarshal(tc, &name) == nil && (name == "auto" || name == "none" || name == "required"):
			in.ToolChoice = name
		case json.Unmarshal(tc, &named) == nil && named.Type == "tool" && named.ToolName != "":
			in.ToolChoice = named.ToolName
		default:
			return transport.Invalid(where, "toolChoice", `expected "auto", "none", "required" or {"type":"tool","toolName":…}`)
		}
	}
	return nil
}

// outputAlias turns the older output (a schema) into structuredOutput.
func outputAlias(b *mastraBody) error {
	if !asks(b.Output) {
		return nil
	}
	if b.StructuredOutput != nil {
		return transport.Invalid("Invalid request body", "output", "give structuredOutput or output, not both")
	}
	b.StructuredOutput = &structuredOutputBody{Schema: b.Output}
	return nil
}

// refusedSettings are the modelSettings fields no provider client sends.
type refusedSettings struct {
	Headers   json.RawMessage `json:"headers"`
	Reasoning json.RawMessage `json:"reasoning"`
}

func (r *refusedSettings) check() error {
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"headers", r.Headers}, {"reasoning", r.Reasoning}} {
		if asks(f.v) {
			return refused("modelSettings." + f.name)
		}
	}
	return nil
}

// refusedMemory are the memory fields the server does not honour.
type refusedMemory struct {
	Options json.RawMessage `json:"options"`
}

func (r *refusedMemory) check() error {
	if asks(r.Options) {
		return refused("memory.options")
	}
	return nil
}
