package agent

import (
	"encoding/json"

	"github.com/mastra-server/mastra-server/host/jsonenc"
	"github.com/mastra-server/mastra-server/host/memory"
)

// replyMetadata is the metadata of a reply that waits on no tool call (the
// rest go through the map, see run.reply). A struct, written by hand, in
// place of the map json.Marshal sorted and reflected on every turn (about
// 17 allocations of each).
type replyMetadata struct {
	finishReason string
	modelID      string
	provider     string
	digest       string          // requestDigest, "" for none
	object       json.RawMessage // structuredOutput, nil for none
	usedFallback bool            // usedFallbackValue, written only when true
	usage        usagePayload
}

// asMap is meta as the map Mastra reads under content.metadata.
func (meta *replyMetadata) asMap() map[string]any {
	m := map[string]any{
		"modelId":      meta.modelID,
		"provider":     meta.provider,
		"usage":        meta.usage,
		"finishReason": meta.finishReason, // for a replay by idempotency key
	}
	if meta.digest != "" {
		m[digestKey] = meta.digest
	}
	if meta.object != nil {
		m[objectKey] = meta.object
		if meta.usedFallback {
			m[fallbackKey] = true
		}
	}
	return m
}

// decoded is meta as json.Unmarshal decodes what appendReplyContent
// writes of it into a map: the reply's metadata in the parsed form the
// saved message carries (memory.Message.WithParsed). ok is false when the
// structured output does not decode.
func (meta *replyMetadata) decoded() (m map[string]any, ok bool) {
	u := meta.usage
	usage := map[string]any{"inputTokens": float64(u.InputTokens), "outputTokens": float64(u.OutputTokens), "totalTokens": float64(u.TotalTokens)}
	for _, f := range [...]struct {
		key string
		n   int
	}{{"cachedInputTokens", u.CachedInputTokens}, {"cacheCreationInputTokens", u.CacheCreationInputTokens}, {"reasoningTokens", u.ReasoningTokens}} {
		if f.n != 0 {
			usage[f.key] = float64(f.n)
		}
	}
	m = map[string]any{"finishReason": meta.finishReason, "modelId": meta.modelID, "provider": meta.provider, "usage": usage}
	if meta.digest != "" {
		m[digestKey] = meta.digest
	}
	if meta.object != nil {
		var v any
		if json.Unmarshal(meta.object, &v) != nil {
			return nil, false
		}
		m[objectKey] = v
		if meta.usedFallback {
			m[fallbackKey] = true
		}
	}
	return m, true
}

// appendReplyContent writes c (whose Metadata it ignores) with meta as its
// metadata, byte for byte as json.Marshal writes c with meta.asMap() (keys
// sorted). It fails where json.Marshal would
// (raw JSON that is not valid).
func appendReplyContent(b []byte, c *memory.Content, meta *replyMetadata) ([]byte, error) {
	var err error
	b = append(b, `{"format":`...)
	b = jsonenc.Int(b, int64(c.Format))
	b = append(b, `,"parts":`...)
	if b, err = appendParts(b, c.Parts); err != nil {
		return b, err
	}
	if c.Content != "" {
		b = append(b, `,"content":`...)
		b = jsonenc.String(b, c.Content)
	}
	b = append(b, `,"metadata":{"finishReason":`...)
	b = jsonenc.String(b, meta.finishReason)
	b = append(b, `,"modelId":`...)
	b = jsonenc.String(b, meta.modelID)
	b = append(b, `,"provider":`...)
	b = jsonenc.String(b, meta.provider)
	if meta.digest != "" {
		b = append(b, `,"requestDigest":`...)
		b = jsonenc.String(b, meta.digest)
	}
	if meta.object != nil {
		b = append(b, `,"structuredOutput":`...)
		if b, err = jsonenc.Raw(b, meta.object); err != nil {
			return b, err
		}
	}
	b = append(b, `,"usage":`...)
	b = appendUsagePayload(b, meta.usage)
	if meta.usedFallback {
		b = append(b, `,"usedFallbackValue":true`...)
	}
	b = append(b, '}')
	if len(c.ToolInvocations) > 0 {
		b = append(b, `,"toolInvocations":[`...)
		for i, inv := range c.ToolInvocations {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendToolInvocation(b, inv); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendParts writes parts as json.Marshal does.
func appendParts(b []byte, parts []memory.Part) ([]byte, error) {
	if parts == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	var err error
	for i := range parts {
		p := &parts[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = jsonenc.String(b, p.Type)
		if p.Text != "" {
			b = append(b, `,"text":`...)
			b = jsonenc.String(b, p.Text)
		}
		if p.ToolInvocation != nil {
			b = append(b, `,"toolInvocation":`...)
			if b, err = appendToolInvocation(b, p.ToolInvocation); err != nil {
				return b, err
			}
		}
		if p.Model != "" {
			b = append(b, `,"model":`...)
			b = jsonenc.String(b, p.Model)
		}
		if p.CreatedAt != 0 {
			b = append(b, `,"createdAt":`...)
			b = jsonenc.Int(b, p.CreatedAt)
		}
		if p.Reasoning != nil {
			b = append(b, `,"reasoning":`...)
			b = jsonenc.String(b, *p.Reasoning)
		}
		if len(p.Details) > 0 {
			b = append(b, `,"details":[`...)
			for j, d := range p.Details {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"type":`...)
				b = jsonenc.String(b, d.Type)
				for _, f := range [...]struct{ key, v string }{{`,"text":`, d.Text}, {`,"signature":`, d.Signature}, {`,"data":`, d.Data}} {
					if f.v != "" {
						b = append(b, f.key...)
						b = jsonenc.String(b, f.v)
					}
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		if len(p.ProviderMetadata) > 0 {
			b = append(b, `,"providerMetadata":`...)
			if b, err = jsonenc.Raw(b, p.ProviderMetadata); err != nil {
				return b, err
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendToolInvocation writes inv as json.Marshal does (nil: null).
func appendToolInvocation(b []byte, inv *memory.ToolInvocation) ([]byte, error) {
	if inv == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, `{"state":`...)
	b = jsonenc.String(b, inv.State)
	b = append(b, `,"toolCallId":`...)
	b = jsonenc.String(b, inv.ToolCallID)
	b = append(b, `,"toolName":`...)
	b = jsonenc.String(b, inv.ToolName)
	b = append(b, `,"args":`...)
	if b, err = jsonenc.Raw(b, inv.Args); err != nil {
		return b, err
	}
	if len(inv.Result) > 0 {
		b = append(b, `,"result":`...)
		if b, err = jsonenc.Raw(b, inv.Result); err != nil {
			return b, err
		}
	}
	if inv.Step != nil {
		b = append(b, `,"step":`...)
		b = jsonenc.Int(b, int64(*inv.Step))
	}
	return append(b, '}'), nil
}
