;; Imports a function no host module provides, and an unknown mastra function.
(module
  (import "evil" "open_socket" (func (param i32) (result i32)))
  (import "mastra" "launch_missiles" (func (result i32)))
  (memory (export "memory") 1)
  (func (export "handle_request") (result i64) (i64.const 1)))
