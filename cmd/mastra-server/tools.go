package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/plugin"
)

// wasmTool is an agent tool served by a Wasm plugin: the arguments go in as
// a JSON request body, the JSON response is the result.
type wasmTool struct {
	name, description string
	schema            json.RawMessage
	p                 *plugin.Plugin
}

func newWasmTool(t config.Tool, p *plugin.Plugin) (*wasmTool, error) {
	schema, err := toolSchema(t.InputSchema)
	if err != nil {
		return nil, err
	}
	return &wasmTool{name: t.Name, description: t.Description, schema: schema, p: p}, nil
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

func (t *wasmTool) Name() string                 { return t.name }
func (t *wasmTool) Description() string          { return t.description }
func (t *wasmTool) InputSchema() json.RawMessage { return t.schema }

func (t *wasmTool) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	status, body, err := t.p.Call(ctx, args)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return nil, fmt.Errorf("tool answered status %d: %s", status, msg)
	}
	if !json.Valid(body) {
		s, _ := json.Marshal(string(body)) // plain text results become a JSON string
		return s, nil
	}
	return body, nil
}
