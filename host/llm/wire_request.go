package llm

import (
	"fmt"
	"strings"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

// appendRequest writes the OpenAI chat completions request body for req
// after dst: the bytes json.Marshal wrote of the request struct this
// replaced (wire_ref_test.go keeps it and compares), without building that
// struct, its pointers and copies of every message. sendModel is false for
// Azure, which names the deployment in the URL; maxCompletionTokens selects
// the newer field name for MaxTokens.
func appendRequest(dst []byte, req Request, sendModel, maxCompletionTokens, stream bool) ([]byte, error) {
	var err error
	b := append(dst, '{')
	if sendModel && req.Model != "" {
		b = append(b, `"model":`...)
		b = jsonenc.String(b, req.Model)
		b = append(b, ',')
	}
	b = append(b, `"messages":[`...)
	for i, m := range req.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMessage(b, m)
	}
	b = append(b, ']')
	if len(req.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range req.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{"name":`...)
			b = jsonenc.String(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = jsonenc.String(b, t.Description)
			}
			params := t.Parameters
			if len(params) == 0 {
				params = emptyObjectSchema
			}
			b = append(b, `,"parameters":`...)
			if b, err = jsonenc.Raw(b, params); err != nil {
				return dst, fmt.Errorf("tool %s parameters: %w", t.Name, err)
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
		switch req.ToolChoice {
		case "":
		case "auto", "none", "required":
			b = append(b, `,"tool_choice":`...)
			b = jsonenc.String(b, req.ToolChoice)
		default:
			b = append(b, `,"tool_choice":{"type":"function","function":{"name":`...)
			b = jsonenc.String(b, req.ToolChoice)
			b = append(b, "}}"...)
		}
	}
	if b, err = appendFloatField(b, `,"temperature":`, req.Temperature); err != nil {
		return dst, err
	}
	if req.MaxTokens != nil {
		if maxCompletionTokens {
			b = append(b, `,"max_completion_tokens":`...)
		} else {
			b = append(b, `,"max_tokens":`...)
		}
		b = jsonenc.Int(b, int64(*req.MaxTokens))
	}
	if b, err = appendFloatField(b, `,"top_p":`, req.TopP); err != nil {
		return dst, err
	}
	if len(req.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range req.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.String(b, s)
		}
		b = append(b, ']')
	}
	if req.Seed != nil {
		b = append(b, `,"seed":`...)
		b = jsonenc.Int(b, int64(*req.Seed))
	}
	if b, err = appendFloatField(b, `,"presence_penalty":`, req.PresencePenalty); err != nil {
		return dst, err
	}
	if b, err = appendFloatField(b, `,"frequency_penalty":`, req.FrequencyPenalty); err != nil {
		return dst, err
	}
	if f := req.ResponseFormat; f != nil {
		// strict: true, as the AI SDK's providers send by default.
		b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
		b = jsonenc.String(b, f.name())
		b = append(b, `,"schema":`...)
		if b, err = jsonenc.Raw(b, f.Schema); err != nil {
			return dst, fmt.Errorf("response format schema: %w", err)
		}
		b = append(b, `,"strict":true}}`...)
	}
	if stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}}`...)
	} else {
		b = append(b, `,"stream":false}`...)
	}
	return b, nil
}

// appendMessage writes one message. An assistant message that only calls
// tools has a null content; an empty argument string is sent as {}.
func appendMessage(b []byte, m Message) []byte {
	b = append(b, `{"role":`...)
	b = jsonenc.String(b, m.Role)
	b = append(b, `,"content":`...)
	if m.Role == RoleAssistant && len(m.ToolCalls) > 0 && m.Content == "" {
		b = append(b, "null"...)
	} else {
		b = jsonenc.String(b, m.Content)
	}
	if m.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonenc.String(b, m.Name)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range m.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if tc.ID != "" {
				b = append(b, `"id":`...)
				b = jsonenc.String(b, tc.ID)
				b = append(b, ',')
			}
			b = append(b, `"type":"function","function":{`...)
			if tc.Name != "" {
				b = append(b, `"name":`...)
				b = jsonenc.String(b, tc.Name)
				b = append(b, ',')
			}
			b = append(b, `"arguments":`...)
			if args := string(tc.Arguments); strings.TrimSpace(args) == "" {
				b = append(b, `"{}"`...)
			} else {
				b = jsonenc.String(b, args)
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = jsonenc.String(b, m.ToolCallID)
	}
	return append(b, '}')
}

func appendFloatField(b []byte, key string, f *float64) ([]byte, error) {
	if f == nil {
		return b, nil
	}
	b = append(b, key...)
	out, err := jsonenc.Float(b, *f)
	if err != nil {
		return b, fmt.Errorf("%s %v: %w", strings.Trim(key, `,":`), *f, err)
	}
	return out, nil
}

// requestSize guesses the size of req's body, so it is written into one
// allocation.
func requestSize(req Request) int {
	n := 256
	for _, m := range req.Messages {
		n += len(m.Content) + len(m.Content)/8 + 48
		for _, tc := range m.ToolCalls {
			n += len(tc.Arguments) + len(tc.Arguments)/4 + len(tc.ID) + len(tc.Name) + 64
		}
	}
	for _, t := range req.Tools {
		n += len(t.Name) + len(t.Description) + len(t.Parameters) + 64
	}
	if req.ResponseFormat != nil {
		n += len(req.ResponseFormat.Schema) + 96
	}
	return n
}
