package workflow

import (
	"encoding/json"
	"time"
)

// Run statuses (Mastra's WorkflowRunStatus, the ones this engine uses).
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusSuspended = "suspended"
	StatusWaiting   = "waiting"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// terminal says a run will not change any more.
func terminal(status string) bool {
	return status == StatusSuccess || status == StatusFailed || status == StatusCanceled
}

// StepResult is one entry of the snapshot's context (Mastra's StepResult).
type StepResult struct {
	Status         string `json:"status"`
	Payload        any    `json:"payload,omitempty"`
	Output         any    `json:"output,omitempty"`
	ResumePayload  any    `json:"resumePayload,omitempty"`
	SuspendPayload any    `json:"suspendPayload,omitempty"`
	Error          any    `json:"error,omitempty"`
	StartedAt      int64  `json:"startedAt"`
	EndedAt        int64  `json:"endedAt,omitempty"`
	SuspendedAt    int64  `json:"suspendedAt,omitempty"`
	ResumedAt      int64  `json:"resumedAt,omitempty"`
}

// Snapshot is Mastra's WorkflowRunState, the JSON of
// mastra_workflow_snapshot.snapshot.
type Snapshot struct {
	RunID               string           `json:"runId"`
	Status              string           `json:"status"`
	Result              any              `json:"result,omitempty"`
	Error               any              `json:"error,omitempty"`
	RequestContext      map[string]any   `json:"requestContext"`
	Value               map[string]any   `json:"value"`
	Context             StepContext      `json:"context"`
	SerializedStepGraph json.RawMessage  `json:"serializedStepGraph"`
	ActivePaths         []int            `json:"activePaths"`
	ActiveStepsPath     map[string][]int `json:"activeStepsPath"`
	SuspendedPaths      map[string][]int `json:"suspendedPaths"`
	ResumeLabels        map[string]any   `json:"resumeLabels"`
	WaitingPaths        map[string][]int `json:"waitingPaths"`
	Timestamp           int64            `json:"timestamp"`
}

// StepContext is the snapshot's context: the run's input under "input" and
// each step's result under its id.
type StepContext struct {
	Input any
	Steps map[string]*StepResult
}

// MarshalJSON writes {"input": …, "<stepId>": StepResult, …}.
func (c StepContext) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Steps)+1)
	for k, v := range c.Steps {
		m[k] = v
	}
	m["input"] = c.Input
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *StepContext) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	c.Steps = map[string]*StepResult{}
	for k, v := range m {
		if k == "input" {
			if err := json.Unmarshal(v, &c.Input); err != nil {
				return err
			}
			continue
		}
		r := new(StepResult)
		if err := json.Unmarshal(v, r); err != nil {
			return err
		}
		c.Steps[k] = r
	}
	return nil
}

// cursor is the engine's own progress of a run (side table): which steps
// are active and how far each got. Step outputs live in the snapshot.
type cursor struct {
	// Top is the index of the active top-level step.
	Top   int                  `json:"top"`
	Steps map[string]*progress `json:"steps,omitempty"`
	// Jobs are the ids of queued jobs by token, so cancel can remove them.
	Jobs map[string]int64 `json:"jobs,omitempty"`
	// Parent names the run and token a nested run reports to.
	Parent *parentRef `json:"parent,omitempty"`
	// Children are every nested run this run started (deleted with it);
	// a foreach step's are in its element rows until the step ends.
	Children []childRef `json:"children,omitempty"`
}

type childRef struct {
	Workflow string `json:"workflow"`
	RunID    string `json:"runId"`
}

type parentRef struct {
	Workflow string `json:"workflow"`
	RunID    string `json:"runId"`
	Step     string `json:"step"`
	Iter     int    `json:"iter"`
}

// progress is one active step.
type progress struct {
	// Pending: tokens (step@iter) queued or running; Suspended: tokens
	// waiting for resume data.
	Pending   map[string]bool `json:"pending,omitempty"`
	Suspended map[string]bool `json:"suspended,omitempty"`
	// Resume holds resume data by token until the resumed job runs.
	Resume map[string]any `json:"resume,omitempty"`
	// Group (parallel, branch): child ids not finished yet.
	Group map[string]bool `json:"group,omitempty"`
	// Foreach: how many elements, the next one to start, how many are
	// done. The elements and their outputs are rows of their own
	// (foreach.go), so that this cursor does not grow with the list.
	Total int `json:"total,omitempty"`
	Next  int `json:"next,omitempty"`
	Done  int `json:"done,omitempty"`
	// LegacyItems: the elements in a cursor written before they had rows
	// (with their outputs so far in Outputs); upgradeForeach moves them.
	LegacyItems []any `json:"items,omitempty"`
	// Loop: the last round's output, and the iteration running.
	Outputs []any `json:"outputs,omitempty"`
	Iter    int   `json:"iter,omitempty"`
	// Children: a workflow step's nested runs by token.
	Children map[string]string `json:"children,omitempty"`
}

func nowMs() int64 { return time.Now().UnixMilli() }
