package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/jsonenc"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// writeGenerate answers a generate turn with its reply: the JSON of
// toGenerateJSON(res), written by appendGenerate.
func writeGenerate(w http.ResponseWriter, res *agent.Result) {
	b, err := appendGenerate(make([]byte, 0, generateSize(res)), res)
	if err != nil {
		// Not seen: every raw value in a Result is valid JSON. As
		// transport.WriteJSON would have.
		transport.WriteJSON(w, http.StatusOK, toGenerateJSON(res))
		return
	}
	if checkGenerate != nil {
		checkGenerate(res, b)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	// A known length rather than chunks: the reply goes out in fewer
	// writes (no chunk terminator of its own), and clients size it at once.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// checkGenerate, when set (by the tests), sees every generate reply
// written with the result it was written from.
var checkGenerate func(res *agent.Result, body []byte)

// generateSize guesses the size of res's reply, so it is written into one
// allocation: the messages' content and the text twice (text and steps).
func generateSize(res *agent.Result) int {
	n := 2048 + 3*len(res.Text)
	for _, m := range res.Messages {
		n += len(m.Content)*2 + 160
	}
	for _, m := range res.Remembered {
		n += len(m.Content) + 160
	}
	return n
}

// appendGenerate writes the bytes json.Marshal(toGenerateJSON(res))
// writes, field for field in generateJSON's order, without building its
// maps and slices (TestGenerateJSONMatchesMarshal and every server test's
// generate compare the two).
func appendGenerate(b []byte, res *agent.Result) ([]byte, error) {
	var err error
	u := res.Usage
	last := agent.Step{ModelID: res.Model}
	if n := len(res.StepResults); n > 0 {
		last = res.StepResults[n-1]
		u = last.Usage
	}
	b = append(b, `{"text":`...)
	b = jsonenc.String(b, res.Text)
	b = append(b, `,"threadId":`...)
	b = jsonenc.String(b, res.ThreadID)
	b = append(b, `,"resourceId":`...)
	b = jsonenc.String(b, res.ResourceID)
	b = append(b, `,"runId":`...)
	b = jsonenc.String(b, res.RunID)
	b = append(b, `,"finishReason":`...)
	b = jsonenc.String(b, res.FinishReason)
	b = append(b, `,"usage":`...)
	b = appendUsage(b, u)
	b = append(b, `,"totalUsage":`...)
	b = appendUsage(b, res.Usage)
	b = append(b, `,"toolCalls":`...)
	if b, err = appendChunks(b, res.ToolCalls); err != nil {
		return b, err
	}
	b = append(b, `,"toolResults":`...)
	if b, err = appendChunks(b, res.ToolResults); err != nil {
		return b, err
	}
	b = append(b, `,"steps":[`...)
	for i, st := range res.StepResults {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendStep(b, i, st); err != nil {
			return b, err
		}
	}
	b = append(b, `],"warnings":[],"reasoning":[],"sources":[],"files":[],"request":{},"providerMetadata":`...)
	b = agent.AppendProviderMetadata(b, last.Provider, res.Usage)
	b = append(b, `,"response":{"id":`...)
	b = jsonenc.String(b, res.MessageID)
	b = append(b, `,"modelId":`...)
	b = jsonenc.String(b, last.ReportedModel())
	if !last.Finished.IsZero() {
		b = append(b, `,"timestamp":`...)
		b = appendTimeString(b, last.Finished, time.RFC3339Nano)
	}
	b = append(b, `,"headers":{},"modelMetadata":`...)
	b = last.Metadata().AppendJSON(b)
	b = append(b, `,"messages":[{"role":"assistant","content":[`...)
	sep := false
	if res.Text != "" {
		b = appendTextPart(b, "text", res.Text)
		sep = true
	}
	for _, c := range res.ToolCalls {
		if p, ok := c.Payload.(agent.ToolCallPayload); ok {
			if sep {
				b = append(b, ',')
			}
			if b, err = appendToolCallPart(b, p); err != nil {
				return b, err
			}
			sep = true
		}
	}
	b = append(b, `]}],"uiMessages":`...)
	if b, err = appendUIMessages(b, replyUIMessages(res.Messages)); err != nil {
		return b, err
	}
	b = append(b, '}')
	if len(res.Object) > 0 {
		b = append(b, `,"object":`...)
		if b, err = jsonenc.Raw(b, res.Object); err != nil {
			return b, err
		}
	}
	b = append(b, `,"usedFallbackValue":`...)
	b = jsonenc.Bool(b, res.UsedFallbackValue)
	b = append(b, `,"messages":`...)
	if b, err = appendWireMessages(b, res.Messages); err != nil {
		return b, err
	}
	b = append(b, `,"rememberedMessages":`...)
	if b, err = appendWireMessages(b, res.Remembered); err != nil {
		return b, err
	}
	if s := res.Suspension; s != nil {
		if p := s.ChunkPayload(); p != nil {
			m, err := json.Marshal(p)
			if err != nil {
				return b, err
			}
			b = append(b, `,"suspendPayload":`...)
			b = append(b, m...)
		}
		if s.ResumeSchema != "" {
			b = append(b, `,"resumeSchema":`...)
			b = jsonenc.String(b, s.ResumeSchema)
		}
	}
	return append(b, '}'), nil
}

// appendStep writes one stepJSON of stepsJSON.
func appendStep(b []byte, i int, st agent.Step) ([]byte, error) {
	var err error
	b = append(b, `{"stepType":`...)
	if i > 0 {
		b = append(b, `"tool-result"`...)
	} else {
		b = append(b, `"initial"`...)
	}
	b = append(b, `,"text":`...)
	b = jsonenc.String(b, st.Text)
	b = append(b, `,"reasoning":[`...)
	for j, rs := range st.Reasoning {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"reasoning","text":`...)
		b = jsonenc.String(b, rs.Text)
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(st.Reasoning) > 0 {
		var thought strings.Builder
		for _, rs := range st.Reasoning {
			thought.WriteString(rs.Text)
		}
		b = append(b, `,"reasoningText":`...)
		b = jsonenc.String(b, thought.String())
	}
	// toolCalls, toolResults, then the same as staticToolCalls and
	// staticToolResults.
	for _, key := range [...]string{`,"toolCalls":`, `,"toolResults":`, `,"staticToolCalls":`, `,"staticToolResults":`} {
		b = append(b, key...)
		cs := st.ToolCalls
		if strings.Contains(key, "Results") {
			cs = st.ToolResults
		}
		if b, err = appendChunks(b, cs); err != nil {
			return b, err
		}
	}
	b = append(b, `,"dynamicToolCalls":[],"dynamicToolResults":[],"files":[],"sources":[],"content":[`...)
	sep := false
	comma := func() {
		if sep {
			b = append(b, ',')
		}
		sep = true
	}
	for _, rs := range st.Reasoning {
		comma()
		b = appendTextPart(b, "reasoning", rs.Text)
	}
	if st.Text != "" {
		comma()
		b = appendTextPart(b, "text", st.Text)
	}
	for _, c := range st.ToolCalls {
		if p, ok := c.Payload.(agent.ToolCallPayload); ok {
			comma()
			if b, err = appendToolCallPart(b, p); err != nil {
				return b, err
			}
		}
	}
	for _, c := range st.ToolResults {
		comma()
		f := c.Fields()
		// The keys of the map this was, sorted: error, input, output,
		// toolCallId, toolName, type.
		isErr := c.Type == agent.ChunkToolError
		b = append(b, '{')
		if isErr {
			b = append(b, `"error":`...)
			b = jsonenc.String(b, f.ErrorMessage)
			b = append(b, ',')
		}
		b = append(b, `"input":`...)
		if b, err = jsonenc.Raw(b, f.Args); err != nil {
			return b, err
		}
		if !isErr {
			b = append(b, `,"output":`...)
			if b, err = jsonenc.Raw(b, f.Result); err != nil {
				return b, err
			}
		}
		b = append(b, `,"toolCallId":`...)
		b = jsonenc.String(b, f.ToolCallID)
		b = append(b, `,"toolName":`...)
		b = jsonenc.String(b, f.ToolName)
		if isErr {
			b = append(b, `,"type":"tool-error"}`...)
		} else {
			b = append(b, `,"type":"tool-result"}`...)
		}
	}
	b = append(b, `],"finishReason":`...)
	b = jsonenc.String(b, st.FinishReason)
	b = append(b, `,"usage":`...)
	b = appendUsage(b, st.Usage)
	b = append(b, `,"warnings":[],"request":{},"response":{"id":`...)
	b = jsonenc.String(b, st.ResponseID)
	b = append(b, `,"timestamp":`...)
	b = appendTimeString(b, st.Finished, time.RFC3339Nano)
	b = append(b, `,"modelId":`...)
	b = jsonenc.String(b, st.ReportedModel())
	b = append(b, `,"headers":{},"modelMetadata":`...)
	b = st.Metadata().AppendJSON(b)
	b = append(b, `},"providerMetadata":`...)
	b = agent.AppendProviderMetadata(b, st.Provider, st.Usage)
	return append(b, '}'), nil
}

// appendTextPart writes a {"text","type"} content part (keys sorted, as
// the map it was).
func appendTextPart(b []byte, typ, text string) []byte {
	b = append(b, `{"text":`...)
	b = jsonenc.String(b, text)
	b = append(b, `,"type":`...)
	b = jsonenc.String(b, typ)
	return append(b, '}')
}

// appendToolCallPart writes a tool-call content part, keys sorted.
func appendToolCallPart(b []byte, p agent.ToolCallPayload) ([]byte, error) {
	b = append(b, `{"input":`...)
	b, err := jsonenc.Raw(b, p.Args)
	if err != nil {
		return b, err
	}
	b = append(b, `,"toolCallId":`...)
	b = jsonenc.String(b, p.ToolCallID)
	b = append(b, `,"toolName":`...)
	b = jsonenc.String(b, p.ToolName)
	return append(b, `,"type":"tool-call"}`...), nil
}

// appendChunks writes chunks as a JSON array, [] for none.
func appendChunks(b []byte, cs []agent.Chunk) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = agent.AppendChunk(b, c); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"inputTokens":`...)
	b = jsonenc.Int(b, int64(u.InputTokens))
	b = append(b, `,"outputTokens":`...)
	b = jsonenc.Int(b, int64(u.OutputTokens))
	b = append(b, `,"totalTokens":`...)
	b = jsonenc.Int(b, int64(u.TotalTokens))
	b = append(b, `,"reasoningTokens":`...)
	b = jsonenc.Int(b, int64(u.ReasoningTokens))
	b = append(b, `,"cachedInputTokens":`...)
	b = jsonenc.Int(b, int64(u.CacheReadTokens))
	return append(b, '}')
}

// appendTimeString writes t formatted with layout as a JSON string (the
// layouts used here need no escaping).
func appendTimeString(b []byte, t time.Time, layout string) []byte {
	b = append(b, '"')
	if layout == isoLayout && t.Location() == time.UTC {
		b = jsonenc.ISOTime(b, t) // every message's createdAt: Format's interpreter is most of the cost
	} else {
		b = t.AppendFormat(b, layout)
	}
	return append(b, '"')
}

// isoLayout is JavaScript's toISOString, the layout of stored times.
const isoLayout = "2006-01-02T15:04:05.000Z"

// appendWireMessages writes wire.Messages(ms).
func appendWireMessages(b []byte, ms []memory.Message) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonenc.String(b, m.ID)
		b = append(b, `,"role":`...)
		b = jsonenc.String(b, m.Role)
		b = append(b, `,"createdAt":`...)
		b = appendTimeString(b, m.CreatedAt.UTC(), "2006-01-02T15:04:05.000Z")
		b = append(b, `,"threadId":`...)
		b = jsonenc.String(b, m.ThreadID)
		if m.ResourceID != "" {
			b = append(b, `,"resourceId":`...)
			b = jsonenc.String(b, m.ResourceID)
		}
		b = append(b, `,"content":`...)
		if m.ContentVerbatim() {
			b = append(b, m.Content...)
		} else if m.ContentValid() {
			b = jsonenc.RawValid(b, m.Content)
		} else if b, err = jsonenc.Raw(b, m.Content); err != nil {
			return b, err
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendUIMessages writes ui messages as json.Marshal does.
func appendUIMessages(b []byte, ms []uiMessage) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonenc.String(b, m.ID)
		b = append(b, `,"role":`...)
		b = jsonenc.String(b, m.Role)
		b = append(b, `,"parts":`...)
		if m.Parts == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, p := range m.Parts {
				if j > 0 {
					b = append(b, ',')
				}
				if b, err = appendUIPart(b, p); err != nil {
					return b, err
				}
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

func appendUIPart(b []byte, p uiPart) ([]byte, error) {
	var err error
	b = append(b, `{"type":`...)
	b = jsonenc.String(b, p.Type)
	if p.Text != "" {
		b = append(b, `,"text":`...)
		b = jsonenc.String(b, p.Text)
	}
	if p.ToolCallID != "" {
		b = append(b, `,"toolCallId":`...)
		b = jsonenc.String(b, p.ToolCallID)
	}
	if p.State != "" {
		b = append(b, `,"state":`...)
		b = jsonenc.String(b, p.State)
	}
	if len(p.Input) > 0 {
		b = append(b, `,"input":`...)
		if b, err = jsonenc.Raw(b, p.Input); err != nil {
			return b, err
		}
	}
	if len(p.Output) > 0 {
		b = append(b, `,"output":`...)
		if b, err = jsonenc.Raw(b, p.Output); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}
