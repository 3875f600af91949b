package llm_test

import (
	"context"
	"fmt"

	"github.com/mastra-server/mastra-server/host/llm"
)

// Echo needs no provider, so it runs anywhere; it is for development and
// tests, not a real model.
func ExampleEcho() {
	req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hello world"}}}
	resp, err := llm.Echo{}.Stream(context.Background(), req, func(d llm.Delta) error {
		fmt.Printf("%q\n", d.Text)
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Text, resp.FinishReason, resp.Usage.OutputTokens)
	// Output:
	// "Echo: "
	// "hello "
	// "world"
	// Echo: hello world stop 3
}
