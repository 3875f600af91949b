;; A tool that always traps: the agent loop must turn the call into a
;; tool-error and the pool must replace the instance.
(module
  (memory (export "memory") 1)
  (func (export "handle_request") (result i64)
    unreachable))
