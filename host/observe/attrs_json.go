package observe

import (
	"github.com/mastra-server/mastra-server/host/jsonenc"
	"github.com/mastra-server/mastra-server/host/memory"
)

// Every turn stores an agent_run and a model_generation span, each with
// attributes and metadata: these appenders write the bytes json.Marshal
// writes of them (FuzzSpanAttrs compares the two), into one buffer per
// span, without reflection.

// attrsAndMetadata is jsonOf(attrs) and jsonOf(meta), encoded into one
// allocation: attributes json.Marshal cannot write are nil, as jsonOf
// returns for them.
func attrsAndMetadata(attrs interface{ appendJSON([]byte) ([]byte, error) }, meta *metadataJSON) (memory.SpanJSON, memory.SpanJSON) {
	b, err := attrs.appendJSON(make([]byte, 0, 384))
	if err != nil {
		b = b[:0]
	}
	n := len(b)
	b = meta.appendJSON(b)
	a := memory.SpanJSON(b[:n:n])
	if n == 0 {
		a = nil
	}
	return a, memory.SpanJSON(b[n:])
}

func (u *usageJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"inputTokens":`...)
	b = jsonenc.Int(b, int64(u.InputTokens))
	b = append(b, `,"outputTokens":`...)
	b = jsonenc.Int(b, int64(u.OutputTokens))
	return append(b, '}')
}

func (a *agentAttrs) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"conversationId":`...)
	b = jsonenc.String(b, a.ConversationID)
	if a.Instructions != "" {
		b = append(b, `,"instructions":`...)
		b = jsonenc.String(b, a.Instructions)
	}
	if len(a.AvailableTools) > 0 {
		b = append(b, `,"availableTools":[`...)
		for i, t := range a.AvailableTools {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.String(b, t)
		}
		b = append(b, ']')
	}
	b = append(b, `,"maxSteps":`...)
	b = jsonenc.Int(b, int64(a.MaxSteps))
	b = append(b, `,"streaming":`...)
	b = jsonenc.Bool(b, a.Streaming)
	if a.Usage != nil {
		b = append(b, `,"usage":`...)
		b = a.Usage.appendJSON(b)
	}
	if a.FinishReason != "" {
		b = append(b, `,"finishReason":`...)
		b = jsonenc.String(b, a.FinishReason)
	}
	if a.Steps != 0 {
		b = append(b, `,"steps":`...)
		b = jsonenc.Int(b, int64(a.Steps))
	}
	return append(b, '}'), nil
}

// appendJSON fails on a parameter json.Marshal cannot write (NaN, an
// infinity), as json.Marshal does.
func (a *modelAttrs) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"model":`...)
	b = jsonenc.String(b, a.Model)
	b = append(b, `,"provider":`...)
	b = jsonenc.String(b, a.Provider)
	b = append(b, `,"streaming":`...)
	b = jsonenc.Bool(b, a.Streaming)
	b = append(b, `,"parameters":{`...)
	p := &a.Parameters
	var err error
	sep := false
	if p.Temperature != nil {
		b = append(b, `"temperature":`...)
		if b, err = jsonenc.Float(b, *p.Temperature); err != nil {
			return b, err
		}
		sep = true
	}
	if p.MaxOutputTokens != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"maxOutputTokens":`...)
		b = jsonenc.Int(b, int64(*p.MaxOutputTokens))
		sep = true
	}
	if p.TopP != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"topP":`...)
		if b, err = jsonenc.Float(b, *p.TopP); err != nil {
			return b, err
		}
	}
	b = append(b, '}')
	if a.Usage != nil {
		b = append(b, `,"usage":`...)
		b = a.Usage.appendJSON(b)
	}
	if a.FinishReason != "" {
		b = append(b, `,"finishReason":`...)
		b = jsonenc.String(b, a.FinishReason)
	}
	if a.ResponseModel != "" {
		b = append(b, `,"responseModel":`...)
		b = jsonenc.String(b, a.ResponseModel)
	}
	if a.ResponseID != "" {
		b = append(b, `,"responseId":`...)
		b = jsonenc.String(b, a.ResponseID)
	}
	if t := a.CompletionStartTime; t != nil {
		b = append(b, `,"completionStartTime":`...)
		b = t.AppendJSON(b)
	}
	return append(b, '}'), nil
}

func (m *metadataJSON) appendJSON(b []byte) []byte {
	b = append(b, '{')
	sep := false
	for _, f := range [...]struct{ key, v string }{
		{`"runId":`, m.RunID}, {`"resourceId":`, m.ResourceID}, {`"threadId":`, m.ThreadID}, {`"outcome":`, m.Outcome},
	} {
		if f.v == "" {
			continue
		}
		if sep {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		b = jsonenc.String(b, f.v)
		sep = true
	}
	return append(b, '}')
}
