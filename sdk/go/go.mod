module github.com/mastra-server/mastra-server/sdk/go

go 1.24
