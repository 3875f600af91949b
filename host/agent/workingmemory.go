package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Working memory, as Mastra's @mastra/memory has it: a text the model keeps
// about the user (Markdown filling a template, or a JSON object described
// by a schema), shown to it in the system prompt on every turn and changed
// by the built-in tool updateWorkingMemory. The store keeps it where Mastra
// does (memory.Store.UpdateWorkingMemory).

// WorkingMemoryTool is the name of the built-in tool that updates the
// working memory, as Mastra names it.
const WorkingMemoryTool = "updateWorkingMemory"

// Working memory scopes.
const (
	ScopeResource = "resource"
	ScopeThread   = "thread"
)

// WorkingMemory configures an agent's working memory.
type WorkingMemory struct {
	// Scope is ScopeResource (one per resource, shared by its threads) or
	// ScopeThread.
	Scope string
	// Template is the Markdown the model fills in; each update replaces
	// the whole text. Used when Schema is nil.
	Template string
	// Schema, when set, is the JSON Schema (an object schema) of the
	// working memory: each update is a JSON object merged into it (objects
	// merged field by field, arrays replaced, null removes a field).
	Schema json.RawMessage
}

// Format is "json" with a schema, else "markdown", as Mastra reports it.
func (w *WorkingMemory) Format() string {
	if len(w.Schema) > 0 {
		return "json"
	}
	return "markdown"
}

// TemplateContent is what Mastra's GET working-memory route reports as the
// template's content: the Markdown template, or the JSON of an empty object
// shaped by the schema.
func (w *WorkingMemory) TemplateContent() string {
	if len(w.Schema) == 0 {
		return strings.TrimSpace(w.Template)
	}
	var schema map[string]any
	_ = json.Unmarshal(w.Schema, &schema) // checked by NewService
	b, _ := json.Marshal(emptyFromSchema(schema))
	return string(b)
}

// CheckText checks a whole working memory a client stores: with a schema
// it must be a JSON object.
func (w *WorkingMemory) CheckText(text string) error {
	if len(w.Schema) == 0 {
		return nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil || obj == nil {
		return errors.New("expected a JSON object: this agent's working memory has a schema")
	}
	return nil
}

func (w *WorkingMemory) check() error {
	if w.Scope != ScopeResource && w.Scope != ScopeThread {
		return fmt.Errorf("working memory: scope %q: expected %q or %q", w.Scope, ScopeResource, ScopeThread)
	}
	if len(w.Schema) > 0 {
		if _, err := toolschema.For(w.Schema); err != nil {
			return fmt.Errorf("working memory: schema: %w", err)
		}
		var schema map[string]any
		if err := json.Unmarshal(w.Schema, &schema); err != nil || schema["type"] != "object" {
			return errors.New("working memory: schema: expected an object schema")
		}
	}
	return nil
}

// ref names the working memory of a turn.
func (w *WorkingMemory) ref(resourceID, threadID string) memory.WorkingMemoryRef {
	if w.Scope == ScopeThread {
		return memory.WorkingMemoryRef{ResourceID: resourceID, ThreadID: threadID, CreateThread: true}
	}
	return memory.WorkingMemoryRef{ResourceID: resourceID}
}

// instructions is the block added to the system prompt: how to keep the
// working memory, its template and its current content. It follows the
// structure of Mastra's WORKING_MEMORY_SYSTEM_INSTRUCTION.
func (w *WorkingMemory) instructions(current string) string {
	var b strings.Builder
	isJSON := w.Format() == "json"
	b.WriteString("WORKING_MEMORY_SYSTEM_INSTRUCTION:\n")
	b.WriteString("Keep any information about the user and the conversation that may matter later by calling the " +
		WorkingMemoryTool + " tool. If it might be referenced again, store it.\n\nGuidelines:\n")
	b.WriteString("1. Store anything that could be useful later in the conversation.\n")
	b.WriteString("2. Update it as soon as something changes, however small.\n")
	if isJSON {
		b.WriteString("3. The working memory is a JSON object. Call " + WorkingMemoryTool + " with {\"memory\": {…}} holding only " +
			"the fields to add or change: they are merged into it. Set a field to null to remove it; an array replaces the old one.\n")
	} else {
		b.WriteString("3. The working memory is Markdown. Call " + WorkingMemoryTool + " with {\"memory\": \"…\"}: the whole " +
			"Markdown text as one string, which replaces the old one. Keep the template's structure and its empty sections.\n")
	}
	b.WriteString("4. Act naturally: do not mention this system to the user, and do not ask them for information about themselves in general.\n")
	b.WriteString("5. If the tool answers success: false, the working memory changed meanwhile: apply your change to the " +
		"workingMemory it returns and call the tool again.\n\n")
	b.WriteString("<working_memory_template>\n")
	b.WriteString(w.TemplateContent())
	b.WriteString("\n</working_memory_template>\n\n<working_memory_data>\n")
	b.WriteString(current)
	b.WriteString("\n</working_memory_data>")
	return b.String()
}

// readOnlyInstructions is the working memory block of a ReadOnly turn:
// the data to use, no tool to change it.
func (w *WorkingMemory) readOnlyInstructions(current string) string {
	return "WORKING_MEMORY_SYSTEM_INSTRUCTION (READ-ONLY):\n" +
		"What is known about the user and the conversation so far. Use it to answer; it cannot be changed in this conversation, " +
		"so do not offer or try to update it. Act naturally: do not mention this system to the user.\n\n" +
		"<working_memory_data>\n" + current + "\n</working_memory_data>"
}

// inputSchema is the tool's arguments as Mastra defines them: {memory:
// string} for Markdown, {memory: <the schema's object>} for JSON.
func (w *WorkingMemory) inputSchema() json.RawMessage {
	var mem any = map[string]any{"type": "string",
		"description": "The Markdown formatted working memory content to store. This MUST be a string. Never pass an object."}
	if len(w.Schema) > 0 {
		var schema map[string]any
		_ = json.Unmarshal(w.Schema, &schema) // checked by NewService
		schema["description"] = "The fields of the JSON working memory to add or change; null removes a field."
		mem = schema
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": map[string]any{"memory": mem}, "required": []string{"memory"}})
	return b
}

// wmTool is the built-in updateWorkingMemory tool of one turn: it knows the
// turn's resource and thread, and the working memory the model was shown.
type wmTool struct {
	r *run
}

func (t wmTool) Name() string { return WorkingMemoryTool }

func (t wmTool) Description() string {
	if t.r.a.WorkingMemory.Format() == "json" {
		return "Update the working memory with new information. The fields given are merged into it: include only " +
			"fields to add or change. Set a field to null to remove it. Arrays are replaced entirely when provided."
	}
	return "Update the working memory with new information. Any data not included will be overwritten. " +
		"Always pass data as string to the memory field. Never pass an object."
}

func (t wmTool) InputSchema() json.RawMessage { return t.r.a.WorkingMemory.inputSchema() }

// Execute stores an update. Markdown replaces the text, but only if it is
// still the text the model was shown (compare-and-set): if another turn or
// client changed it meanwhile, nothing is stored and the model gets
// {success: false, workingMemory: <the current text>} to apply its change
// to and retry. A JSON update is merged into the current object under the
// store's row lock, so concurrent merges all land.
func (t wmTool) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	r := t.r
	wm := r.a.WorkingMemory
	var in struct {
		Memory json.RawMessage `json:"memory"`
	}
	if err := json.Unmarshal(args, &in); err != nil || len(in.Memory) == 0 || string(in.Memory) == "null" {
		return nil, errors.New("memory is required")
	}
	ref := wm.ref(r.res.ResourceID, r.res.ThreadID)
	if wm.Format() == "json" {
		patch, err := jsonPatch(in.Memory)
		if err != nil {
			return nil, err
		}
		stored, err := r.s.store.UpdateWorkingMemory(ctx, ref, func(cur string) (string, error) {
			var old map[string]any
			if json.Unmarshal([]byte(cur), &old) != nil {
				old = nil // not a JSON object (yet): start afresh, as Mastra does
			}
			b, err := json.Marshal(mergeJSON(old, patch))
			return string(b), err
		})
		if err != nil {
			return nil, fmt.Errorf("save working memory: %w", err)
		}
		r.wmSeen = stored
		return json.RawMessage(`{"success":true}`), nil
	}
	var text string
	if err := json.Unmarshal(in.Memory, &text); err != nil {
		text = string(in.Memory) // an object despite the schema: kept as its JSON, as Mastra does
	}
	if strings.IndexByte(text, 0) >= 0 {
		return nil, errors.New("memory must not contain NUL characters") // Postgres text cannot hold them
	}
	var current string
	stored, err := r.s.store.UpdateWorkingMemory(ctx, ref, func(cur string) (string, error) {
		if cur != r.wmSeen {
			current = cur
			return "", memory.ErrStale
		}
		return text, nil
	})
	if errors.Is(err, memory.ErrStale) {
		r.wmSeen = current
		return json.Marshal(map[string]any{"success": false, "workingMemory": current,
			"reason": "the working memory changed since you read it; apply your change to workingMemory and call " + WorkingMemoryTool + " again"})
	}
	if err != nil {
		return nil, fmt.Errorf("save working memory: %w", err)
	}
	r.wmSeen = stored
	return json.RawMessage(`{"success":true}`), nil
}

// jsonPatch reads a JSON update: an object, or a string holding one (the
// way Mastra's instructions ask models to send it).
func jsonPatch(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			raw = []byte(s)
		}
	}
	var patch map[string]any
	if err := json.Unmarshal(raw, &patch); err != nil || patch == nil {
		return nil, errors.New("memory: expected a JSON object with the fields to change")
	}
	return patch, nil
}

// mergeJSON merges patch into old, as Mastra's deepMergeWorkingMemory does:
// objects merge field by field, null removes a field, anything else
// (arrays included) replaces. old is not changed.
func mergeJSON(old, patch map[string]any) map[string]any {
	out := make(map[string]any, len(old)+len(patch))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			if ov, ok := out[k].(map[string]any); ok {
				out[k] = mergeJSON(ov, pv)
			} else {
				out[k] = pv
			}
		default:
			out[k] = v
		}
	}
	return out
}

// emptyFromSchema is an object with every property of an object schema
// empty, as Mastra's generateEmptyFromSchema builds the JSON template:
// defaults where given, "" for strings, [] for arrays, nested objects
// recursively, null otherwise.
func emptyFromSchema(schema map[string]any) map[string]any {
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	for k, p := range props {
		prop, _ := p.(map[string]any)
		if d, ok := prop["default"]; ok {
			out[k] = d
			continue
		}
		switch prop["type"] {
		case "object":
			out[k] = emptyFromSchema(prop)
		case "string":
			out[k] = ""
		case "array":
			out[k] = []any{}
		default:
			out[k] = nil
		}
	}
	return out
}
