// Command approval-step is an example Wasm workflow step in standard Go. The
// workflow engine POSTs the step's data as JSON:
//
//	{"inputData": {"amount": 40}, "runId": "…", "stepId": "approve"}
//
// and, when the run is resumed, the same with "resumeData". The step
// approves amounts up to the configured limit by itself ({"approved": true,
// "by": "auto"}); a larger amount suspends the run (status 202, the body is
// the suspend payload) until a person resumes it with {"approved": bool}
// ({"approved": …, "by": "human"}). Input without a numeric amount is a 400,
// which fails the step.
package main

import (
	"encoding/json"
	"fmt"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

type config struct {
	Limit float64 `json:"limit"` // largest amount approved without a person
}

var cfg = config{Limit: 100}

func init() {
	if err := mastra.DecodeConfig(&cfg); err != nil {
		mastra.Log(mastra.LevelError, "approval-step: "+err.Error())
	}
	mastra.HandleRequest(approve)
}

type stepCall struct {
	InputData struct {
		Amount *float64 `json:"amount"`
	} `json:"inputData"`
	ResumeData *struct {
		Approved bool `json:"approved"`
	} `json:"resumeData"`
}

func approve(req mastra.Request, resp mastra.Response) bool {
	var call stepCall
	if err := json.Unmarshal(req.Body(), &call); err != nil || call.InputData.Amount == nil {
		resp.WriteJSON(400, map[string]string{"error": "expected inputData {\"amount\": number}"})
		return false
	}
	amount := *call.InputData.Amount
	switch {
	case call.ResumeData != nil:
		resp.WriteJSON(200, map[string]any{"approved": call.ResumeData.Approved, "by": "human"})
	case amount <= cfg.Limit:
		resp.WriteJSON(200, map[string]any{"approved": true, "by": "auto"})
	default:
		resp.WriteJSON(202, map[string]any{"amount": amount, "reason": fmt.Sprintf("amounts over %g need approval", cfg.Limit)})
	}
	return false
}

func main() {}
