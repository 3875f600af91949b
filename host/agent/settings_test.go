package agent

import (
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/llm"
)

// An agent's settings out of range stop NewService, naming the agent.
func TestAgentSettingsChecked(t *testing.T) {
	hot := 3.0
	_, err := NewService(nil, []*Agent{{ID: "a", Model: llm.Echo{}, ModelSettings: ModelSettings{Temperature: &hot}}}, "", nil)
	if err == nil || !strings.Contains(err.Error(), `agent "a": model settings: Temperature: expected a number from 0 to 2`) {
		t.Errorf("NewService = %v; want the temperature refused", err)
	}
}
