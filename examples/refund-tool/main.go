// Command refund-tool is an example agent tool in standard Go that suspends
// itself for a person's decision (Mastra's suspend() in a tool). The agent
// loop calls it with the model's arguments as the JSON body:
//
//	{"order": "A-17", "amount": 40}   ->  200 {"order": "A-17", "refunded": 40, "by": "auto"}
//	{"order": "A-18", "amount": 400}  ->  202 {"order": "A-18", "amount": 400, "question": "…"}
//
// A 202 suspends the call: the turn waits until it is resumed (resume-stream
// with resumeData, or approve-tool-call, which sends {"approved": true}),
// and the tool is called again with the same arguments plus "resumeData":
//
//	{"order": "A-18", "amount": 400, "resumeData": {"approved": false}}  ->  200 {"order": "A-18", "refunded": 0, "by": "human"}
//
// Amounts up to the configured limit (default 100) are refunded without
// asking. A body without an order and a numeric amount is a 400.
package main

import (
	"encoding/json"
	"fmt"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

type config struct {
	Limit float64 `json:"limit"` // largest amount refunded without a person
}

var cfg = config{Limit: 100}

func init() {
	if err := mastra.DecodeConfig(&cfg); err != nil {
		mastra.Log(mastra.LevelError, "refund-tool: "+err.Error())
	}
	mastra.HandleRequest(refund)
}

type call struct {
	Order      string   `json:"order"`
	Amount     *float64 `json:"amount"`
	ResumeData *struct {
		Approved bool `json:"approved"`
	} `json:"resumeData"`
}

func refund(req mastra.Request, resp mastra.Response) bool {
	var c call
	if err := json.Unmarshal(req.Body(), &c); err != nil || c.Order == "" || c.Amount == nil {
		resp.WriteJSON(400, map[string]string{"error": `expected {"order": string, "amount": number}`})
		return false
	}
	amount := *c.Amount
	switch {
	case c.ResumeData != nil && c.ResumeData.Approved:
		resp.WriteJSON(200, map[string]any{"order": c.Order, "refunded": amount, "by": "human"})
	case c.ResumeData != nil:
		resp.WriteJSON(200, map[string]any{"order": c.Order, "refunded": 0, "by": "human"})
	case amount <= cfg.Limit:
		resp.WriteJSON(200, map[string]any{"order": c.Order, "refunded": amount, "by": "auto"})
	default:
		resp.WriteJSON(202, map[string]any{"order": c.Order, "amount": amount,
			"question": fmt.Sprintf("Refund %g for order %s? Amounts over %g need a person.", amount, c.Order, cfg.Limit)})
	}
	return false
}

func main() {}
