package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mastra-server/mastra-server/host/llm"
)

// Judge is an LLM-judged scorer's model and rubric ([scorers.<id>] with
// kind = "llm"). Mastra's judge runs preprocess, analyze, score and
// reason as separate prompts; here one call asks for the score and its
// reason together, by structured output: one model call per graded
// reply, so the cost of a judge is one call's tokens.
type Judge struct {
	Model llm.Model
	// Provider and ModelID name the judge ("provider/model").
	Provider, ModelID string
	// Prompt is the rubric. {{input}} and {{output}} in it are replaced by
	// the user's message and the reply; without them both are sent after
	// the rubric.
	Prompt string
	// NoJSONSchema: the provider has no json_schema response_format
	// (providers.<name>.json_schema = false); the prompt alone asks for
	// the JSON.
	NoJSONSchema bool
}

// NewJudgeScorer builds an LLM-judged scorer.
func NewJudgeScorer(id, name, description string, j Judge, rate float64) (*Scorer, error) {
	if j.Model == nil {
		return nil, fmt.Errorf("scorer %s: no judge model", id)
	}
	if strings.TrimSpace(j.Prompt) == "" {
		return nil, fmt.Errorf("scorer %s: an llm scorer needs a prompt (its rubric)", id)
	}
	if name == "" {
		name = id
	}
	return &Scorer{ID: id, Name: name, Description: description, Kind: "llm", Rate: rate, judge: &j}, nil
}

// verdictSchema is what the judge answers: strict-mode ready (every
// property required, no others).
var verdictSchema = json.RawMessage(`{"type":"object","properties":{"score":{"type":"number","description":"0 (fails the rubric) to 1 (meets it fully)"},` +
	`"reason":{"type":"string","description":"why, in one or two sentences"}},"required":["score","reason"],"additionalProperties":false}`)

const judgeSystem = "You are an evaluator. Grade an AI assistant's output against the rubric you are given. " +
	"Answer with one JSON object and nothing else: {\"score\": a number from 0 (fails the rubric) to 1 (meets it fully), " +
	"\"reason\": one or two sentences saying why}."

// maxJudged bounds the input and output text put in a judge's prompt.
const maxJudged = 32 << 10

func (j *Judge) name() string {
	if j.ModelID == "" {
		return j.Provider
	}
	return j.Provider + "/" + j.ModelID
}

func (j *Judge) grade(ctx context.Context, input, output string) (Grade, error) {
	input, output = clip(input, maxJudged), clip(output, maxJudged)
	var user string
	if strings.Contains(j.Prompt, "{{input}}") || strings.Contains(j.Prompt, "{{output}}") {
		user = strings.NewReplacer("{{input}}", input, "{{output}}", output).Replace(j.Prompt)
	} else {
		user = "Rubric:\n" + j.Prompt + "\n\nInput:\n" + input + "\n\nOutput:\n" + output
	}
	req := llm.Request{Model: j.ModelID, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: judgeSystem}, {Role: llm.RoleUser, Content: user}}}
	if !j.NoJSONSchema {
		req.ResponseFormat = &llm.ResponseFormat{Name: "score", Schema: verdictSchema}
	}
	g := Grade{Judge: j.name()}
	resp, err := j.Model.Generate(ctx, req)
	if resp != nil {
		g.Usage = Usage{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens}
	}
	if err != nil {
		return g, fmt.Errorf("judge %s: %w", g.Judge, err)
	}
	var v struct {
		Score  *float64 `json:"score"`
		Reason string   `json:"reason"`
	}
	text := strings.TrimSpace(resp.Text)
	// A model asked by prompt alone may fence its JSON.
	text = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(text, "```json"), "```"), "```")
	if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &v); err != nil || v.Score == nil {
		return g, fmt.Errorf("judge %s: the answer is not {score, reason}: %q", g.Judge, clip(resp.Text, 200))
	}
	if *v.Score < 0 || *v.Score > 1 {
		return g, errors.New("judge " + g.Judge + ": score " + fmt.Sprint(*v.Score) + " is outside 0–1")
	}
	g.Score, g.Reason = *v.Score, v.Reason
	return g, nil
}
