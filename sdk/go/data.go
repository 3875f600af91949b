package mastra

import (
	"encoding/json"

	"github.com/mastra-server/mastra-server/sdk/go/internal/abi"
)

// ---- workflows and threads (grants: workflows = ["id", ...] or ["*"]; threads = true) ----
//
// Every call acts for the request's resource (the token's, or the one a middleware set), else the
// plugin's own resource_id: a run or thread of another resource is ENOENT, exactly as a missing
// one. Results are JSON, in the shapes of the server's HTTP routes.

// DataError is the error of a failed workflow or thread call: the host's status and its message
// (empty for ENOENT). errors.Is(err, mastra.ENOENT) etc. work through Unwrap. EINVAL names the bad
// field; EBUSY means the run is not in a state for the call (started already, not suspended, or
// another resume won).
type DataError struct {
	Errno   Errno
	Message string
}

func (e *DataError) Error() string {
	if e.Message == "" {
		return "mastra: " + e.Errno.Error()
	}
	return "mastra: " + e.Errno.Name() + ": " + e.Message
}

func (e *DataError) Unwrap() error { return e.Errno }

// dataResult reads a status_len answer whose value may be larger than scratch (then it is in the
// host's result slot).
func dataResult(r uint64) ([]byte, error) {
	status, n := abi.SplitU64(r)
	if status != 0 {
		return nil, &DataError{Errno: Errno(status), Message: string(readResult(n))}
	}
	if int(n) <= len(scratch) {
		return append([]byte(nil), scratch[:n]...), nil
	}
	return readResult(n), nil
}

// WorkflowStart creates a run of workflowID and starts it with inputData (JSON, nil for none); it
// returns the run's id without waiting for it. A bad input is EINVAL and leaves no run.
func WorkflowStart(workflowID string, inputData []byte) (runID string, err error) {
	wp, wl := strPtr(workflowID)
	out, err := dataResult(abi.WorkflowStart(wp, wl, ptr(inputData), uint32(len(inputData)), ptr(scratch), uint32(len(scratch))))
	if err != nil {
		return "", err
	}
	var v struct {
		RunID string `json:"runId"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return "", err
	}
	return v.RunID, nil
}

// WorkflowResume resumes the suspended run with resumeData (JSON) at step ("" for the run's
// suspended step). It returns once the resume is claimed, not when the run finishes.
func WorkflowResume(workflowID, runID, step string, resumeData []byte) error {
	body := resumeBody(step, resumeData)
	wp, wl := strPtr(workflowID)
	rp, rl := strPtr(runID)
	_, err := dataResult(abi.WorkflowResume(wp, wl, rp, rl, ptr(body), uint32(len(body)), ptr(scratch), uint32(len(scratch))))
	return err
}

// resumeBody is the host's resume body: {"step"?, "resumeData"}.
func resumeBody(step string, resumeData []byte) []byte {
	body := []byte(`{`)
	if step != "" {
		body = append(AppendJSONString(append(body, `"step":`...), step), ',')
	}
	if len(resumeData) == 0 {
		resumeData = []byte("null")
	}
	return append(append(append(body, `"resumeData":`...), resumeData...), '}')
}

// WorkflowRun returns the run as GET /api/workflows/:workflowId/runs/:runId does (JSON: runId,
// status, result, steps, ...).
func WorkflowRun(workflowID, runID string) ([]byte, error) {
	wp, wl := strPtr(workflowID)
	rp, rl := strPtr(runID)
	return dataResult(abi.WorkflowRun(wp, wl, rp, rl, ptr(scratch), uint32(len(scratch))))
}

// ThreadsList returns a page of the caller's threads as GET /api/memory/threads does
// ({threads, total, page, perPage, hasMore}). query is JSON ({"page", "perPage",
// "orderBy": "createdAt"|"updatedAt", "direction": "ASC"|"DESC"}) or nil.
func ThreadsList(query []byte) ([]byte, error) {
	return dataResult(abi.ThreadsList(ptr(query), uint32(len(query)), ptr(scratch), uint32(len(scratch))))
}

// ThreadMessages returns a page of one of the caller's threads' messages as GET
// /api/memory/threads/:threadId/messages does. query is JSON ({"page", "perPage", "direction"})
// or nil.
func ThreadMessages(threadID string, query []byte) ([]byte, error) {
	tp, tl := strPtr(threadID)
	return dataResult(abi.ThreadMessages(tp, tl, ptr(query), uint32(len(query)), ptr(scratch), uint32(len(scratch))))
}
