package agent

import (
	"encoding/json"
	"slices"

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
	case stepFinishPayload:
		if out, ok := appendStepFinish(b, p.MessageID, p.StepResult, p.Output, p.Metadata, nil, p.ProviderMetadata, nil); ok {
			return out, nil
		}
	case finishPayload:
		if out, ok := appendStepFinish(b, p.MessageID, p.StepResult, p.Output, p.Metadata, &p, p.ProviderMetadata, p.Response); ok {
			return out, nil
		}
	}
	m, err := json.Marshal(payload)
	if err != nil {
		return b, err
	}
	return append(b, m...), nil
}

// appendStepFinish writes a step-finish payload, or a finish one when fin
// is set (its usage, totalUsage and response come after the metadata). It
// reports false, having written nothing that counts, for values it does
// not write itself (warnings, metadata of other shapes): the caller then
// uses json.Marshal.
func appendStepFinish(b []byte, messageID string, res stepResult, out stepOutput, meta stepMetadata,
	fin *finishPayload, provider map[string]any, resp *responseMeta) ([]byte, bool) {
	if len(res.Warnings) > 0 {
		return b, false
	}
	start := len(b)
	fail := func() ([]byte, bool) { return b[:start], false }
	var ok bool
	b = append(b, `{"messageId":`...)
	b = jsonenc.String(b, messageID)
	b = append(b, `,"stepResult":{"reason":`...)
	b = jsonenc.String(b, res.Reason)
	b = append(b, `,"warnings":`...)
	if res.Warnings == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, "[]"...)
	}
	b = append(b, `,"isContinued":`...)
	b = jsonenc.Bool(b, res.IsContinued)
	b = append(b, `},"output":{"text":`...)
	b = jsonenc.String(b, out.Text)
	b = append(b, `,"toolCalls":`...)
	if out.ToolCalls == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range out.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendChunk(b, c); err != nil {
				return fail()
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"usage":`...)
	b = appendUsagePayload(b, out.Usage)
	if len(out.Steps) > 0 {
		b = append(b, `,"steps":`...)
		if b, ok = appendStepValues(b, out.Steps); !ok {
			return fail()
		}
	}
	b = append(b, `},"metadata":{`...)
	if meta.ID != "" {
		b = append(b, `"id":`...)
		b = jsonenc.String(b, meta.ID)
		b = append(b, ',')
	}
	if meta.Timestamp != "" {
		b = append(b, `"timestamp":`...)
		b = jsonenc.String(b, meta.Timestamp)
		b = append(b, ',')
	}
	b = append(b, `"modelId":`...)
	b = jsonenc.String(b, meta.ModelID)
	if mm := meta.ModelMetadata; mm != nil {
		b = append(b, `,"modelMetadata":`...)
		b = mm.AppendJSON(b)
	}
	if len(meta.ProviderMetadata) > 0 {
		b = append(b, `,"providerMetadata":`...)
		if b, ok = appendSimpleMap(b, meta.ProviderMetadata); !ok {
			return fail()
		}
	}
	b = append(b, '}')
	if fin != nil {
		b = append(b, `,"usage":`...)
		b = appendUsagePayload(b, fin.Usage)
		if fin.TotalUsage != nil {
			b = append(b, `,"totalUsage":`...)
			b = appendUsagePayload(b, *fin.TotalUsage)
		}
	}
	if len(provider) > 0 {
		b = append(b, `,"providerMetadata":`...)
		if b, ok = appendSimpleMap(b, provider); !ok {
			return fail()
		}
	}
	if resp != nil {
		b = append(b, `,"response":{"id":`...)
		b = jsonenc.String(b, resp.ID)
		b = append(b, `,"modelId":`...)
		b = jsonenc.String(b, resp.ModelID)
		b = append(b, `,"timestamp":`...)
		b = jsonenc.String(b, resp.Timestamp)
		b = append(b, `,"modelMetadata":`...)
		b = resp.ModelMetadata.AppendJSON(b)
		b = append(b, '}')
	}
	if fin != nil && fin.Messages != nil {
		b = append(b, `,"messages":{"all":`...)
		var err error
		if b, err = appendModelMessages(b, fin.Messages.All); err != nil {
			return fail()
		}
		b = append(b, `,"user":`...)
		if b, err = appendModelMessages(b, fin.Messages.User); err != nil {
			return fail()
		}
		b = append(b, `,"nonUser":`...)
		if b, err = appendModelMessages(b, fin.Messages.NonUser); err != nil {
			return fail()
		}
		b = append(b, '}')
	}
	return append(b, '}'), true
}

// appendModelMessages writes the finish chunk's messages (the turn's whole
// prompt, so long) as json.Marshal does.
func appendModelMessages(b []byte, ms []modelMessage) ([]byte, error) {
	if ms == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	var err error
	for i := range ms {
		m := &ms[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = jsonenc.String(b, m.Role)
		b = append(b, `,"content":`...)
		if m.Content == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j := range m.Content {
				p := &m.Content[j]
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"type":`...)
				b = jsonenc.String(b, p.Type)
				for _, f := range [...]struct{ key, v string }{{`,"text":`, p.Text}, {`,"toolCallId":`, p.ToolCallID}, {`,"toolName":`, p.ToolName}} {
					if f.v != "" {
						b = append(b, f.key...)
						b = jsonenc.String(b, f.v)
					}
				}
				if len(p.Input) > 0 {
					b = append(b, `,"input":`...)
					if b, err = jsonenc.Raw(b, p.Input); err != nil {
						return b, err
					}
				}
				if o := p.Output; o != nil {
					b = append(b, `,"output":{"type":`...)
					b = jsonenc.String(b, o.Type)
					b = append(b, `,"value":`...)
					if b, err = jsonenc.Raw(b, o.Value); err != nil {
						return b, err
					}
					b = append(b, '}')
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendStepValues writes the finish chunk's steps as json.Marshal does;
// false for values it does not write itself (warnings, provider metadata
// of other shapes).
func appendStepValues(b []byte, steps []stepValue) ([]byte, bool) {
	b = append(b, '[')
	for i := range steps {
		st := &steps[i]
		if len(st.Warnings) > 0 {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stepType":`...)
		b = jsonenc.String(b, st.StepType)
		b = append(b, `,"text":`...)
		b = jsonenc.String(b, st.Text)
		for _, f := range [...]struct {
			key    string
			chunks []Chunk
		}{{`,"toolCalls":`, st.ToolCalls}, {`,"toolResults":`, st.ToolResults}} {
			b = append(b, f.key...)
			if f.chunks == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j, c := range f.chunks {
				if j > 0 {
					b = append(b, ',')
				}
				var err error
				if b, err = AppendChunk(b, c); err != nil {
					return b, false
				}
			}
			b = append(b, ']')
		}
		b = append(b, `,"finishReason":`...)
		b = jsonenc.String(b, st.FinishReason)
		b = append(b, `,"usage":`...)
		b = appendUsagePayload(b, st.Usage)
		b = append(b, `,"warnings":`...)
		if st.Warnings == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, "[]"...)
		}
		b = append(b, `,"request":{},"response":{"id":`...)
		b = jsonenc.String(b, st.Response.ID)
		b = append(b, `,"timestamp":`...)
		b = jsonenc.String(b, st.Response.Timestamp)
		b = append(b, `,"modelId":`...)
		b = jsonenc.String(b, st.Response.ModelID)
		b = append(b, `,"modelMetadata":`...)
		b = st.Response.ModelMetadata.AppendJSON(b)
		b = append(b, '}')
		if len(st.ProviderMetadata) > 0 {
			b = append(b, `,"providerMetadata":`...)
			var ok bool
			if b, ok = appendSimpleMap(b, st.ProviderMetadata); !ok {
				return b, false
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), true
}

func appendUsagePayload(b []byte, u usagePayload) []byte {
	b = append(b, `{"inputTokens":`...)
	b = jsonenc.Int(b, int64(u.InputTokens))
	b = append(b, `,"outputTokens":`...)
	b = jsonenc.Int(b, int64(u.OutputTokens))
	b = append(b, `,"totalTokens":`...)
	b = jsonenc.Int(b, int64(u.TotalTokens))
	if u.CachedInputTokens != 0 {
		b = append(b, `,"cachedInputTokens":`...)
		b = jsonenc.Int(b, int64(u.CachedInputTokens))
	}
	if u.CacheCreationInputTokens != 0 {
		b = append(b, `,"cacheCreationInputTokens":`...)
		b = jsonenc.Int(b, int64(u.CacheCreationInputTokens))
	}
	if u.ReasoningTokens != 0 {
		b = append(b, `,"reasoningTokens":`...)
		b = jsonenc.Int(b, int64(u.ReasoningTokens))
	}
	return append(b, '}')
}

// AppendJSON appends m as json.Marshal writes it (the server's generate
// reply writes it too).
func (m ModelMetadata) AppendJSON(b []byte) []byte {
	b = append(b, `{"modelId":`...)
	b = jsonenc.String(b, m.ModelID)
	b = append(b, `,"modelVersion":`...)
	b = jsonenc.String(b, m.ModelVersion)
	b = append(b, `,"modelProvider":`...)
	b = jsonenc.String(b, m.ModelProvider)
	return append(b, '}')
}

// appendSimpleMap writes a map of ints, strings, bools and such maps, keys
// sorted as json.Marshal sorts them (ProviderMetadata's shape); false for
// any other value, or more keys than it sorts without allocating.
func appendSimpleMap(b []byte, m map[string]any) ([]byte, bool) {
	var space [8]string
	if len(m) > len(space) {
		return b, false
	}
	keys := space[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.String(b, k)
		b = append(b, ':')
		switch v := m[k].(type) {
		case int:
			b = jsonenc.Int(b, int64(v))
		case string:
			b = jsonenc.String(b, v)
		case bool:
			b = jsonenc.Bool(b, v)
		case map[string]any:
			if v == nil {
				b = append(b, "null"...)
				break
			}
			var ok bool
			if b, ok = appendSimpleMap(b, v); !ok {
				return b, false
			}
		default:
			return b, false
		}
	}
	return append(b, '}'), true
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
