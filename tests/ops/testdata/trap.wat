;; Tool that always traps (unreachable), for the plugin trap metrics.
(module
  (memory (export "memory") 1)
  (func (export "handle_request") (result i64)
    unreachable))
