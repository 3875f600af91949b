module github.com/mastra-server/mastra-server/tests/mcp-conformance/fixture-tool

go 1.24

require github.com/mastra-server/mastra-server/sdk/go v0.0.0

replace github.com/mastra-server/mastra-server/sdk/go => ../../../sdk/go
