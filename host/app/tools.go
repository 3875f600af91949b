package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/toolschema"
	"github.com/mastra-server/mastra-server/host/wasmtool"
)

// newWasmTool makes a [[tools]] entry served by plugin p an agent tool.
func newWasmTool(t config.Tool, p *plugin.Plugin) (*wasmtool.Tool, error) {
	schema, err := toolSchema(t.InputSchema)
	if err != nil {
		return nil, err
	}
	if _, err := toolschema.For(schema); err != nil {
		return nil, err
	}
	wt := wasmtool.New(t.Name, t.Description, schema, p)
	wt.NeedsApproval = t.RequireApproval
	if t.ResumeSchema != nil {
		rs, err := toolSchema(t.ResumeSchema)
		if err != nil {
			return nil, fmt.Errorf("resume_schema: %w", err)
		}
		if _, err := toolschema.For(rs); err != nil {
			return nil, fmt.Errorf("resume_schema: %w", err)
		}
		wt.Resume = rs
	}
	return wt, nil
}

// toolSchema reads input_schema: an inline table, a JSON string, or the
// path of a JSON file.
func toolSchema(v any) (json.RawMessage, error) {
	switch s := v.(type) {
	case nil:
		return json.RawMessage(`{"type":"object"}`), nil
	case string:
		if strings.HasPrefix(strings.TrimSpace(s), "{") {
			if !json.Valid([]byte(s)) {
				return nil, errors.New("input_schema: not valid JSON")
			}
			return json.RawMessage(s), nil
		}
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("input_schema: %w", err)
		}
		if !json.Valid(b) {
			return nil, fmt.Errorf("input_schema: %s is not valid JSON", s)
		}
		return b, nil
	case map[string]any:
		b, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("input_schema: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("input_schema: expected a table, a JSON string or a file path, got %T", v)
}

// toolList returns every [[tools]] entry, sorted by name, for the server's
// /api/tools routes (tools no agent lists are served there too).
func (ps *plugins) toolList() []agent.Tool {
	names := make([]string, 0, len(ps.tools))
	for n := range ps.tools {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]agent.Tool, 0, len(names))
	for _, n := range names {
		out = append(out, ps.tools[n])
	}
	return out
}
