package plugin

import (
	"sort"
	"strings"
	"testing"
)

// dataHostFunctions are the host functions that reach stored data, each
// with the two-token test that covers it. Every one needs a grant (agents:
// threads and messages; kv: the plugin's key-value namespace; workflows:
// runs; threads: threads and messages, read-only), so a
// function that needs a grant and is missing here is new data access
// without an isolation test.
var dataHostFunctions = map[string]string{
	"mastra.agent_generate":           "cmd/mastra-server TestPluginHostFunctionIsolation, TestPluginAgentCallsAreScoped",
	"mastra.agent_stream_to_response": "cmd/mastra-server TestPluginHostFunctionIsolation, TestPluginAgentStream",
	"mastra.kv_get":                   "cmd/mastra-server TestPluginHostFunctionIsolation, TestPluginsNeverShareAKVNamespace",
	"mastra.kv_set":                   "cmd/mastra-server TestPluginHostFunctionIsolation, TestPluginsNeverShareAKVNamespace",
	"mastra.kv_delete":                "cmd/mastra-server TestPluginHostFunctionIsolation",
	"mastra.workflow_start":           "cmd/mastra-server TestPluginWorkflowAndThreadIsolation",
	"mastra.workflow_resume":          "cmd/mastra-server TestPluginWorkflowAndThreadIsolation",
	"mastra.workflow_run":             "cmd/mastra-server TestPluginWorkflowAndThreadIsolation",
	"mastra.threads_list":             "cmd/mastra-server TestPluginWorkflowAndThreadIsolation",
	"mastra.thread_messages":          "cmd/mastra-server TestPluginWorkflowAndThreadIsolation",
}

// TestDataHostFunctionsAreCovered fails when a host function that needs a
// grant is added without a two-token isolation case, or when
// the list names a function that is gone.
func TestDataHostFunctionsAreCovered(t *testing.T) {
	declared := map[string]bool{}
	for _, m := range []*hostModule{envModule, httpHandlerModule, mastraModule} {
		for name, f := range m.funcs {
			key := m.name + "." + name
			if f.grant == grantNone {
				continue
			}
			declared[key] = true
			if dataHostFunctions[key] == "" {
				t.Errorf("host function %s needs a grant and reaches stored data, but has no two-token isolation test: "+
					"add a case to cmd/mastra-server/isolation_test.go (tenant B through a plugin cannot reach tenant A's data) "+
					"and list it in dataHostFunctions in host/plugin/isolation_test.go", key)
			}
		}
	}
	var gone []string
	for key := range dataHostFunctions {
		if !declared[key] {
			gone = append(gone, key)
		}
	}
	sort.Strings(gone)
	if len(gone) > 0 {
		t.Errorf("dataHostFunctions lists %s, no longer declared with a grant: remove it", strings.Join(gone, ", "))
	}
}
