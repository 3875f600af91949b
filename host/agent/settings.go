package agent

import (
	"fmt"

	"github.com/mastra-server/mastra-server/host/llm"
)

// MaxStopSequences is the most stop sequences a turn may send (OpenAI's
// limit).
const MaxStopSequences = 4

// SettingError names a sampling setting that is out of range. Setting is the
// Go field name of ModelSettings ("Temperature", "MaxTokens", …), for
// callers to spell as their own input does.
type SettingError struct {
	Setting string
	Problem string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("model settings: %s: %s", e.Setting, e.Problem)
}

// Check reports the first setting outside the range the providers accept.
func (m ModelSettings) Check() error {
	between := func(name string, v *float64, lo, hi float64) error {
		if v != nil && !(*v >= lo && *v <= hi) { // NaN fails too
			return &SettingError{name, fmt.Sprintf("expected a number from %g to %g", lo, hi)}
		}
		return nil
	}
	if err := between("Temperature", m.Temperature, 0, 2); err != nil {
		return err
	}
	if err := between("TopP", m.TopP, 0, 1); err != nil {
		return err
	}
	if err := between("PresencePenalty", m.PresencePenalty, -2, 2); err != nil {
		return err
	}
	if err := between("FrequencyPenalty", m.FrequencyPenalty, -2, 2); err != nil {
		return err
	}
	if m.MaxTokens != nil && *m.MaxTokens < 1 {
		return &SettingError{"MaxTokens", "expected a positive number of tokens"}
	}
	if m.TopK != nil && *m.TopK < 1 {
		return &SettingError{"TopK", "expected a positive number"}
	}
	if m.MaxRetries != nil && *m.MaxRetries < 0 {
		return &SettingError{"MaxRetries", "expected 0 or more"}
	}
	if len(m.Stop) > MaxStopSequences {
		return &SettingError{"Stop", fmt.Sprintf("expected at most %d stop sequences", MaxStopSequences)}
	}
	for _, s := range m.Stop {
		if s == "" {
			return &SettingError{"Stop", "expected non-empty stop sequences"}
		}
	}
	return nil
}

// Override returns m with every setting that o sets replaced by o's: an
// agent's settings overridden by a request's.
func (m ModelSettings) Override(o ModelSettings) ModelSettings {
	if o.Temperature != nil {
		m.Temperature = o.Temperature
	}
	if o.MaxTokens != nil {
		m.MaxTokens = o.MaxTokens
	}
	if o.TopP != nil {
		m.TopP = o.TopP
	}
	if o.Seed != nil {
		m.Seed = o.Seed
	}
	if o.Stop != nil {
		m.Stop = o.Stop
	}
	if o.PresencePenalty != nil {
		m.PresencePenalty = o.PresencePenalty
	}
	if o.FrequencyPenalty != nil {
		m.FrequencyPenalty = o.FrequencyPenalty
	}
	if o.TopK != nil {
		m.TopK = o.TopK
	}
	if o.MaxRetries != nil {
		m.MaxRetries = o.MaxRetries
	}
	return m
}

func (m ModelSettings) apply(req *llm.Request) {
	req.Temperature, req.MaxTokens, req.TopP, req.Seed, req.Stop = m.Temperature, m.MaxTokens, m.TopP, m.Seed, m.Stop
	req.PresencePenalty, req.FrequencyPenalty = m.PresencePenalty, m.FrequencyPenalty
	req.TopK, req.MaxRetries = m.TopK, m.MaxRetries
}
