;; Declares mastra ABI v2, which this host does not speak.
(module
  (memory (export "memory") 1)
  (func (export "mastra_abi_v2"))
  (func (export "handle_request") (result i64) (i64.const 1)))
