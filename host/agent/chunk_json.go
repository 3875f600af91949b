package agent

import (
	"encoding/json"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

// AppendChunk writes c's JSON after dst: the bytes json.Marshal(c) writes,
// without reflection for the chunks a stream is mostly made of (text and
// reasoning deltas, starts and ends, tool-call pieces). The rarer payloads
// (step-finish, finish, tool outputs, a client's raw JSON) go through
// json.Marshal. The agent tests' recorder compares the two on every chunk
// they stream.
func AppendChunk(dst []byte, c Chunk) ([]byte, error) {
	b := append(dst, `{"type":`...)
	b = jsonenc.String(b, c.Type)
	b = append(b, `,"runId":`...)
	b = jsonenc.String(b, c.RunID)
	b = append(b, `,"from":`...)
	b = jsonenc.String(b, c.From)
	var err error
	if c.Payload != nil {
		b = append(b, `,"payload":`...)
		if b, err = appendPayload(b, c.Payload); err != nil {
			return dst, err
		}
	}
	if len(c.Object) > 0 {
		b = append(b, `,"object":`...)
		if b, err = jsonenc.Raw(b, c.Object); err != nil {
			return dst, err
		}
	}
	if len(c.Metadata) > 0 {
		m, err := json.Marshal(c.Metadata)
		if err != nil {
			return dst, err
		}
		b = append(b, `,"metadata":`...)
		b = append(b, m...)
	}
	return append(b, '}'), nil
}

func appendPayload(b []byte, payload any) ([]byte, error) {
	switch p := payload.(type) {
	case textDeltaPayload:
		b = append(b, `{"id":`...)
		b = jsonenc.String(b, p.ID)
		b = append(b, `,"text":`...)
		b = jsonenc.String(b, p.Text)
		return append(b, '}'), nil
	case textIDPayload:
		b = append(b, `{"id":`...)
		b = jsonenc.String(b, p.ID)
		return append(b, '}'), nil
	case textEndPayload:
		b = append(b, `{"type":`...)
		b = jsonenc.String(b, p.Type)
		b = append(b, `,"id":`...)
		b = jsonenc.String(b, p.ID)
		return append(b, '}'), nil
	case startPayload:
		return appendStart(b, &p), nil
	case *startPayload:
		if p == nil {
			return append(b, "null"...), nil
		}
		return appendStart(b, p), nil
	case stepStartPayload:
		if len(p.Warnings) > 0 {
			break
		}
		b = append(b, `{"messageId":`...)
		b = jsonenc.String(b, p.MessageID)
		if p.StartedAt != 0 {
			b = append(b, `,"startedAt":`...)
			b = jsonenc.Int(b, p.StartedAt)
		}
		b = append(b, `,"request":{},"warnings":`...)
		if p.Warnings == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, "[]"...)
		}
		return append(b, '}'), nil
	case toolInputStartPayload:
		b = append(b, `{"toolCallId":`...)
		b = jsonenc.String(b, p.ToolCallID)
		b = append(b, `,"toolName":`...)
		b = jsonenc.String(b, p.ToolName)
		return append(b, '}'), nil
	case toolCallDeltaPayload:
		b = append(b, `{"argsTextDelta":`...)
		b = jsonenc.String(b, p.ArgsTextDelta)
		b = append(b, `,"toolCallId":`...)
		b = jsonenc.String(b, p.ToolCallID)
		b = append(b, `,"toolName":`...)
		b = jsonenc.String(b, p.ToolName)
		return append(b, '}'), nil
	case toolInputEndPayload:
		b = append(b, `{"toolCallId":`...)
		b = jsonenc.String(b, p.ToolCallID)
		return append(b, '}'), nil
	case ToolCallPayload:
		b = append(b, `{"toolCallId":`...)
		b = jsonenc.String(b, p.ToolCallID)
		b = append(b, `,"toolName":`...)
		b = jsonenc.String(b, p.ToolName)
		b = append(b, `,"args":`...)
		b, err := jsonenc.Raw(b, p.Args)
		if err != nil {
			return b, err
		}
		return append(b, '}'), nil
	}
	m, err := json.Marshal(payload)
	if err != nil {
		return b, err
	}
	return append(b, m...), nil
}

func appendStart(b []byte, p *startPayload) []byte {
	b = append(b, `{"id":`...)
	b = jsonenc.String(b, p.ID)
	b = append(b, `,"messageId":`...)
	b = jsonenc.String(b, p.MessageID)
	b = append(b, `,"threadId":`...)
	b = jsonenc.String(b, p.ThreadID)
	b = append(b, `,"resourceId":`...)
	b = jsonenc.String(b, p.ResourceID)
	b = append(b, `,"modelId":`...)
	b = jsonenc.String(b, p.ModelID)
	b = append(b, `,"provider":`...)
	b = jsonenc.String(b, p.Provider)
	return append(b, '}')
}
