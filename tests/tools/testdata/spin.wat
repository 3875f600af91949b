;; A tool that never returns: every call runs into the plugin's deadline.
(module
  (memory (export "memory") 1)
  (func (export "handle_request") (result i64)
    (loop $spin (br $spin))
    (i64.const 0)))
