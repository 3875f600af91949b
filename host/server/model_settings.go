package server

import (
	"errors"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// modelSettings is Mastra's modelSettings (AI SDK call settings). Those no
// provider here supports (topK, maxRetries, headers, reasoning) are ignored
// like any unknown key.
type modelSettings struct {
	Temperature      *float64 `json:"temperature"`
	MaxOutputTokens  *int     `json:"maxOutputTokens"`
	MaxTokens        *int     `json:"maxTokens"` // the AI SDK 4 spelling
	TopP             *float64 `json:"topP"`
	Seed             *int     `json:"seed"`
	StopSequences    []string `json:"stopSequences"`
	PresencePenalty  *float64 `json:"presencePenalty"`
	FrequencyPenalty *float64 `json:"frequencyPenalty"`
	TopK             *int     `json:"topK"`
	MaxRetries       *int     `json:"maxRetries"`
	refusedSettings
}

// settings checks the values and returns them for the agent, or a 400
// naming the field as the client spelled it. They override the agent's
// configured settings one by one.
func (m *modelSettings) settings() (agent.ModelSettings, error) {
	if m == nil {
		return agent.ModelSettings{}, nil
	}
	if err := m.refusedSettings.check(); err != nil {
		return agent.ModelSettings{}, err
	}
	out := agent.ModelSettings{Temperature: m.Temperature, MaxTokens: m.MaxOutputTokens, TopP: m.TopP, Seed: m.Seed,
		Stop: m.StopSequences, PresencePenalty: m.PresencePenalty, FrequencyPenalty: m.FrequencyPenalty,
		TopK: m.TopK, MaxRetries: m.MaxRetries}
	maxTokens := "maxOutputTokens"
	if out.MaxTokens == nil && m.MaxTokens != nil {
		out.MaxTokens, maxTokens = m.MaxTokens, "maxTokens"
	}
	var se *agent.SettingError
	if err := out.Check(); errors.As(err, &se) {
		field := map[string]string{"Temperature": "temperature", "MaxTokens": maxTokens, "TopP": "topP",
			"Stop": "stopSequences", "PresencePenalty": "presencePenalty", "FrequencyPenalty": "frequencyPenalty",
			"TopK": "topK", "MaxRetries": "maxRetries"}[se.Setting]
		return out, transport.Invalid("Invalid request body", "modelSettings."+field, se.Problem)
	}
	return out, nil
}
